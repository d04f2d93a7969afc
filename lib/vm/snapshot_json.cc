#include "lib/vm/snapshot_json.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/archive/ram_size.h"
#include "lib/base/status_macros.h"
#include "lib/sandbox/confined_call.h"
#include "lib/sandbox/groups.h"
#include "lib/sandbox/policy.h"
#include "lib/vm/snapshot_json.pb.h"

namespace chtools::vm {
namespace {

// The child may allocate, exit and write its answer to the pipe; nothing
// else (no open, no socket, no exec, no signals to others).
sandbox::PolicyBuilder JsonPolicy() {
  sandbox::PolicyBuilder policy;
  // Memory, exit, futexes: the parsers allocate.
  policy.Allow(sandbox::Group::kBasicProcess);
  // The answer, written to the parent's pipe.
  policy.Allow(sandbox::Group::kReadWrite);
  return policy;
}

absl::Status Unexpected(absl::string_view what, absl::string_view detail) {
  return absl::InternalError(absl::StrCat(what, ": answered ", detail));
}

wire::SnapshotJson ToWire(const SnapshotJson& s) {
  wire::SnapshotJson w;
  for (const ChDisk& d : s.config.disks) {
    wire::Disk* o = w.add_disks();
    o->set_id(d.id);
    o->set_path(d.path);
    o->set_readonly(d.readonly);
    o->set_serial(d.serial);
  }
  for (const ChNic& n : s.config.nics) {
    wire::Nic* o = w.add_nics();
    o->set_id(n.id);
    o->set_tap(n.tap);
    o->set_mac(n.mac);
    o->set_num_queues(n.num_queues);
  }
  w.set_boot_vcpus(s.config.boot_vcpus);
  w.set_max_vcpus(s.config.max_vcpus);
  w.set_memory_size(s.config.memory_size);
  w.set_kernel(s.config.kernel);
  w.set_initramfs(s.config.initramfs);
  w.set_firmware(s.config.firmware);
  w.set_ram_bytes(s.ram_bytes);
  return w;
}

// The child's answer, held to what ParseChConfig guarantees (ch_config.cc):
// a compromised child may send anything that decodes.
absl::StatusOr<SnapshotJson> FromWire(const wire::SnapshotJson& w,
                                      absl::string_view what) {
  SnapshotJson s;
  ChConfig& c = s.config;
  if (w.boot_vcpus() < 1 || w.boot_vcpus() > 1024 || w.max_vcpus() < 1 ||
      w.max_vcpus() > 1024) {
    return Unexpected(what, "vCPU counts out of range");
  }
  if (w.disks().empty()) return Unexpected(what, "no disk");
  for (const wire::Disk& d : w.disks()) {
    if (d.path().empty()) return Unexpected(what, "a disk without a path");
    c.disks.push_back({d.id(), d.path(), d.readonly(), d.serial()});
  }
  for (const wire::Nic& n : w.nics()) {
    if (n.id().empty()) return Unexpected(what, "a NIC without an id");
    if (n.num_queues() < 0 || n.num_queues() > 512) {
      return Unexpected(what, "NIC queues out of range");
    }
    c.nics.push_back({n.id(), n.tap(), n.mac(), n.num_queues()});
  }
  c.boot_vcpus = w.boot_vcpus();
  c.max_vcpus = w.max_vcpus();
  c.memory_size = w.memory_size();
  c.kernel = w.kernel();
  c.initramfs = w.initramfs();
  c.firmware = w.firmware();
  s.ram_bytes = w.ram_bytes();
  return s;
}

absl::StatusOr<SnapshotJson> Read(absl::string_view config_text,
                                  absl::string_view config_name,
                                  absl::string_view state_text) {
  SnapshotJson s;
  ASSIGN_OR_RETURN(s.ram_bytes, archive::RamBytesFromState(state_text));
  ASSIGN_OR_RETURN(s.config, ParseChConfig(config_text, config_name));
  return s;
}

absl::Status CheckSize(absl::string_view name, size_t size,
                       uint64_t max_bytes) {
  if (size <= max_bytes) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      name, ": rewritten for this VM it would be ", size,
      " bytes, more than the ", max_bytes, " a snapshot may hold"));
}

absl::StatusOr<RewrittenJson> Rewrite(
    absl::string_view config_text, absl::string_view config_name,
    absl::string_view state_text, absl::string_view state_name,
    const ConfigRewrite& rw, const std::map<std::string, std::string>& paths,
    uint64_t max_bytes) {
  RewrittenJson r;
  ASSIGN_OR_RETURN(r.config_json,
                   RewriteChConfig(config_text, config_name, rw));
  RETURN_IF_ERROR(CheckSize(config_name, r.config_json.size(), max_bytes));
  ASSIGN_OR_RETURN(r.state_json, RewriteChState(state_text, state_name, paths));
  RETURN_IF_ERROR(CheckSize(state_name, r.state_json.size(), max_bytes));
  return r;
}

}  // namespace

absl::StatusOr<SnapshotJson> ReadSnapshotJson(absl::string_view config_text,
                                              absl::string_view config_name,
                                              absl::string_view state_text,
                                              JsonSandbox where) {
  if (where == JsonSandbox::kInProcess) {
    return Read(config_text, config_name, state_text);
  }
  const std::string what = absl::StrCat(config_name, ": JSON reader");
  // Every string of the answer is decoded from config.json, never longer
  // than its escaped form, and each disk or NIC costs more text there than
  // its field tags here.
  const size_t max_answer = 2 * config_text.size() + 4096;
  ASSIGN_OR_RETURN(
      std::string answer,
      sandbox::RunConfined(what, JsonPolicy(), {}, max_answer,
                           [&]() -> absl::StatusOr<std::string> {
                             ASSIGN_OR_RETURN(
                                 SnapshotJson s,
                                 Read(config_text, config_name, state_text));
                             return ToWire(s).SerializeAsString();
                           }));
  wire::SnapshotJson w;
  if (!w.ParseFromString(answer)) {
    return Unexpected(what, "what does not decode");
  }
  return FromWire(w, what);
}

absl::StatusOr<RewrittenJson> RewriteSnapshotJson(
    absl::string_view config_text, absl::string_view config_name,
    absl::string_view state_text, absl::string_view state_name,
    const ConfigRewrite& rw, const std::map<std::string, std::string>& paths,
    uint64_t max_bytes, JsonSandbox where) {
  if (where == JsonSandbox::kInProcess) {
    return Rewrite(config_text, config_name, state_text, state_name, rw, paths,
                   max_bytes);
  }
  const std::string what = absl::StrCat(config_name, ": JSON rewriter");
  ASSIGN_OR_RETURN(
      std::string answer,
      sandbox::RunConfined(what, JsonPolicy(), {}, 2 * max_bytes + 4096,
                           [&]() -> absl::StatusOr<std::string> {
                             ASSIGN_OR_RETURN(
                                 RewrittenJson r,
                                 Rewrite(config_text, config_name, state_text,
                                         state_name, rw, paths, max_bytes));
                             wire::Rewritten w;
                             w.set_config_json(std::move(r.config_json));
                             w.set_state_json(std::move(r.state_json));
                             return w.SerializeAsString();
                           }));
  wire::Rewritten w;
  if (!w.ParseFromString(answer)) {
    return Unexpected(what, "what does not decode");
  }
  if (w.config_json().size() > max_bytes || w.state_json().size() > max_bytes) {
    return Unexpected(what, "files longer than allowed");
  }
  RewrittenJson r;
  r.config_json = std::move(*w.mutable_config_json());
  r.state_json = std::move(*w.mutable_state_json());
  return r;
}

}  // namespace chtools::vm
