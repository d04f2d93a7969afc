#include "lib/vm/ch_config.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace chtools::vm {
namespace {

using Json = nlohmann::ordered_json;

absl::Status Bad(absl::string_view name, absl::string_view field,
                 absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(
      name, ": ", field.empty() ? "" : field, field.empty() ? "" : ": ", what));
}

// Nesting depth of a JSON text (brackets outside strings), so that neither
// the parser nor the recursive walks below can run out of stack.
size_t Depth(absl::string_view text) {
  size_t depth = 0, max = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max) max = depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return max;
}

absl::StatusOr<Json> ParseJson(absl::string_view text, absl::string_view name,
                               size_t max_depth) {
  if (Depth(text) > max_depth) {
    return Bad(name, "",
               absl::StrCat("nests deeper than ", max_depth, " levels"));
  }
  Json j = Json::parse(text.begin(), text.end(), nullptr,
                       /*allow_exceptions=*/false);
  if (j.is_discarded()) return Bad(name, "", "is not valid JSON");
  return j;
}

// A string field or null ("" for null/absent). InvalidArgument otherwise.
absl::StatusOr<std::string> OptString(const Json& obj, const char* key,
                                      absl::string_view name,
                                      absl::string_view field) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return Bad(name, absl::StrCat(field, ".", key), "is not a string");
  }
  return it->get<std::string>();
}

absl::StatusOr<uint64_t> OptUint(const Json& obj, const char* key,
                                 absl::string_view name,
                                 absl::string_view field) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return uint64_t{0};
  if (!it->is_number_unsigned()) {
    return Bad(name, absl::StrCat(field, ".", key),
               "is not a non-negative integer");
  }
  return it->get<uint64_t>();
}

const Json* Member(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

bool Within(absl::string_view path, absl::string_view dir) {
  return absl::StartsWith(path, absl::StrCat(dir, "/")) &&
         !absl::StrContains(path, "/../") && !absl::StrContains(path, "/./") &&
         !absl::EndsWith(path, "/..") && !absl::EndsWith(path, "/.");
}

// Sections that carry host paths or host devices and that chtools never
// configures: present (non-null, non-empty) in a snapshot, they are refused.
constexpr const char* kRefusedSections[] = {
    "fs",    "pmem", "devices",        "user_devices", "vdpa",
    "vsock", "tpm",  "landlock_rules", "sgx_epc",      "preserved_fds"};

class Confiner {
 public:
  Confiner(absl::string_view name, const ConfigRewrite& rw)
      : name_(name), rw_(rw) {}

  absl::Status Check(const Json& root) {
    if (!root.is_object()) return Bad(name_, "", "is not a JSON object");
    for (const char* key : kRefusedSections) {
      const Json* s = Member(root, key);
      if (s != nullptr && !(s->is_array() && s->empty()) &&
          !(s->is_object() && s->empty())) {
        return Bad(name_, key,
                   "is set: chtools never configures this device, and it "
                   "would make Cloud Hypervisor open host files");
      }
    }
    if (const Json* m = Member(root, "memory")) {
      if (const Json* zones = Member(*m, "zones"); zones && zones->is_array()) {
        for (size_t i = 0; i < zones->size(); ++i) {
          if (Member((*zones)[i], "file") != nullptr) {
            return Bad(name_, absl::StrCat("memory.zones[", i, "].file"),
                       "is set: file-backed memory is never configured by "
                       "chtools");
          }
        }
      }
    }
    for (const char* list : {"disks", "net"}) {
      const Json* arr = Member(root, list);
      if (arr == nullptr) continue;
      for (size_t i = 0; i < arr->size(); ++i) {
        const Json& d = (*arr)[i];
        const std::string f = absl::StrCat(list, "[", i, "]");
        if (const Json* v = Member(d, "vhost_user");
            v != nullptr && !(v->is_boolean() && !v->get<bool>())) {
          return Bad(name_, f + ".vhost_user",
                     "is set: vhost-user devices are never configured by "
                     "chtools");
        }
        if (Member(d, "vhost_socket") != nullptr) {
          return Bad(name_, f + ".vhost_socket",
                     "is set: vhost-user devices are never configured by "
                     "chtools");
        }
      }
    }
    if (const Json* rng = Member(root, "rng")) {
      const Json* src = Member(*rng, "src");
      if (src != nullptr &&
          !(src->is_string() && (src->get<std::string>() == "/dev/urandom" ||
                                 src->get<std::string>() == "/dev/random"))) {
        return Bad(
            name_, "rng.src",
            absl::StrCat(src->dump(), ": only /dev/urandom or /dev/random"));
      }
    }
    return Walk(root, "");
  }

 private:
  // Every string of the tree: a path field must be one of the allowed ones,
  // any other string must not name a path.
  absl::Status Walk(const Json& j, const std::string& field) {
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        RETURN_IF_ERROR(Walk(
            it.value(),
            field.empty() ? it.key() : absl::StrCat(field, ".", it.key())));
      }
      return absl::OkStatus();
    }
    if (j.is_array()) {
      for (size_t i = 0; i < j.size(); ++i) {
        RETURN_IF_ERROR(Walk(j[i], absl::StrCat(field, "[", i, "]")));
      }
      return absl::OkStatus();
    }
    if (!j.is_string()) return absl::OkStatus();
    const std::string v = j.get<std::string>();
    const std::string shown = Json(v).dump();
    if (field == "payload.cmdline") return absl::OkStatus();
    if (field == "rng.src") return absl::OkStatus();  // checked above
    if (field == "payload.kernel" || field == "payload.initramfs" ||
        field == "payload.firmware") {
      if (!rw_.allowed_ro_files.contains(v)) {
        return Bad(name_, field,
                   absl::StrCat(shown,
                                " is not a boot file the snapshot's record "
                                "names"));
      }
      return absl::OkStatus();
    }
    if (absl::StartsWith(field, "disks[") && absl::EndsWith(field, "].path")) {
      if (Within(v, rw_.run_dir) || rw_.allowed_ro_files.contains(v)) {
        return absl::OkStatus();
      }
      return Bad(name_, field,
                 absl::StrCat(shown,
                              " lies outside the VM's run dir and is not a "
                              "read-only image the snapshot's record names"));
    }
    if (field == "serial.socket" || field == "console.socket") {
      if (Within(v, rw_.run_dir)) return absl::OkStatus();
      return Bad(name_, field,
                 absl::StrCat(shown, " lies outside the VM's run dir"));
    }
    if (absl::StrContains(v, '/')) {
      return Bad(name_, field,
                 absl::StrCat(shown,
                              " names a path: not allowed outside the fields "
                              "chtools rewrites"));
    }
    return absl::OkStatus();
  }

  absl::string_view name_;
  const ConfigRewrite& rw_;
};

// Replaces strings equal to a key of `paths`, recursing into JSON documents
// kept in strings. Returns how many were replaced.
int ReplacePaths(Json& j, const std::map<std::string, std::string>& paths,
                 int depth) {
  int n = 0;
  if (j.is_object() || j.is_array()) {
    for (auto& v : j) n += ReplacePaths(v, paths, depth);
    return n;
  }
  if (!j.is_string()) return 0;
  const std::string& s = j.get_ref<const std::string&>();
  if (auto it = paths.find(s); it != paths.end()) {
    j = it->second;
    return 1;
  }
  // CH keeps each component's state as a JSON document in a string
  // (docs/ch-v51.md §4.3).
  if (depth < 4 && !s.empty() && (s.front() == '{' || s.front() == '[') &&
      Depth(s) <= 128) {
    Json inner = Json::parse(s, nullptr, /*allow_exceptions=*/false);
    if (!inner.is_discarded()) {
      int m = ReplacePaths(inner, paths, depth + 1);
      if (m > 0) {
        j = inner.dump();
        return m;
      }
    }
  }
  return 0;
}

}  // namespace

absl::StatusOr<ChConfig> ParseChConfig(absl::string_view text,
                                       absl::string_view name) {
  ASSIGN_OR_RETURN(Json j, ParseJson(text, name, 64));
  if (!j.is_object()) return Bad(name, "", "is not a JSON object");
  ChConfig c;
  const Json* cpus = Member(j, "cpus");
  if (cpus == nullptr || !cpus->is_object())
    return Bad(name, "cpus", "missing");
  ASSIGN_OR_RETURN(uint64_t boot, OptUint(*cpus, "boot_vcpus", name, "cpus"));
  ASSIGN_OR_RETURN(uint64_t max, OptUint(*cpus, "max_vcpus", name, "cpus"));
  if (boot == 0 || boot > 1024 || max > 1024) {
    return Bad(name, "cpus.boot_vcpus", "missing or out of range");
  }
  c.boot_vcpus = static_cast<int>(boot);
  c.max_vcpus = static_cast<int>(max == 0 ? boot : max);
  const Json* mem = Member(j, "memory");
  if (mem == nullptr || !mem->is_object())
    return Bad(name, "memory", "missing");
  ASSIGN_OR_RETURN(c.memory_size, OptUint(*mem, "size", name, "memory"));
  if (const Json* p = Member(j, "payload")) {
    if (!p->is_object()) return Bad(name, "payload", "is not an object");
    ASSIGN_OR_RETURN(c.kernel, OptString(*p, "kernel", name, "payload"));
    ASSIGN_OR_RETURN(c.initramfs, OptString(*p, "initramfs", name, "payload"));
    ASSIGN_OR_RETURN(c.firmware, OptString(*p, "firmware", name, "payload"));
  }
  const Json* disks = Member(j, "disks");
  if (disks == nullptr || !disks->is_array() || disks->empty()) {
    return Bad(name, "disks", "missing or empty");
  }
  for (size_t i = 0; i < disks->size(); ++i) {
    const Json& d = (*disks)[i];
    const std::string f = absl::StrCat("disks[", i, "]");
    if (!d.is_object()) return Bad(name, f, "is not an object");
    ChDisk disk;
    ASSIGN_OR_RETURN(disk.id, OptString(d, "id", name, f));
    ASSIGN_OR_RETURN(disk.path, OptString(d, "path", name, f));
    ASSIGN_OR_RETURN(disk.serial, OptString(d, "serial", name, f));
    if (disk.path.empty()) return Bad(name, f + ".path", "missing");
    if (const Json* ro = Member(d, "readonly")) {
      if (!ro->is_boolean()) return Bad(name, f + ".readonly", "not a bool");
      disk.readonly = ro->get<bool>();
    }
    c.disks.push_back(std::move(disk));
  }
  if (const Json* nets = Member(j, "net")) {
    if (!nets->is_array()) return Bad(name, "net", "is not an array");
    for (size_t i = 0; i < nets->size(); ++i) {
      const Json& n = (*nets)[i];
      const std::string f = absl::StrCat("net[", i, "]");
      if (!n.is_object()) return Bad(name, f, "is not an object");
      ChNic nic;
      ASSIGN_OR_RETURN(nic.id, OptString(n, "id", name, f));
      ASSIGN_OR_RETURN(nic.tap, OptString(n, "tap", name, f));
      ASSIGN_OR_RETURN(nic.mac, OptString(n, "mac", name, f));
      ASSIGN_OR_RETURN(uint64_t q, OptUint(n, "num_queues", name, f));
      if (q > 512) return Bad(name, f + ".num_queues", "out of range");
      nic.num_queues = static_cast<int>(q);
      if (nic.id.empty()) {
        return Bad(name, f + ".id",
                   "missing: CH names every restored device; without the id "
                   "the NIC cannot be swapped");
      }
      c.nics.push_back(std::move(nic));
    }
  }
  return c;
}

absl::StatusOr<std::string> RewriteChConfig(absl::string_view text,
                                            absl::string_view name,
                                            const ConfigRewrite& rw) {
  ASSIGN_OR_RETURN(Json j, ParseJson(text, name, 64));
  if (!j.is_object()) return Bad(name, "", "is not a JSON object");
  Json* disks = j.contains("disks") ? &j["disks"] : nullptr;
  size_t ndisks = disks != nullptr && disks->is_array() ? disks->size() : 0;
  if (ndisks != rw.disk_paths.size()) {
    return Bad(name, "disks",
               absl::StrCat("has ", ndisks, " disks, expected ",
                            rw.disk_paths.size()));
  }
  for (size_t i = 0; i < ndisks; ++i) {
    if (!(*disks)[i].is_object()) {
      return Bad(name, absl::StrCat("disks[", i, "]"), "is not an object");
    }
    (*disks)[i]["path"] = rw.disk_paths[i];
  }
  Json* nets = j.contains("net") && !j["net"].is_null() ? &j["net"] : nullptr;
  size_t nnets = nets != nullptr && nets->is_array() ? nets->size() : 0;
  if (nnets != rw.taps.size()) {
    return Bad(name, "net",
               absl::StrCat("has ", nnets, " NICs, expected ", rw.taps.size()));
  }
  for (size_t i = 0; i < nnets; ++i) {
    Json& n = (*nets)[i];
    if (!n.is_object()) {
      return Bad(name, absl::StrCat("net[", i, "]"), "is not an object");
    }
    n["tap"] = rw.taps[i];
    // fds would need net_fds at restore; host_mac and ip/mask describe the
    // old host's tap.
    for (const char* k : {"fds", "host_mac", "ip", "mask"}) {
      if (n.contains(k)) n[k] = nullptr;
    }
  }
  if (rw.direct_boot) {
    j["serial"] = Json{{"file", nullptr},
                       {"mode", "Off"},
                       {"iommu", false},
                       {"socket", nullptr}};
    j["console"] = Json{{"file", nullptr},
                        {"mode", "Pty"},
                        {"iommu", false},
                        {"socket", nullptr}};
  } else {
    j["serial"] = Json{{"file", nullptr},
                       {"mode", "Socket"},
                       {"iommu", false},
                       {"socket", rw.console_socket}};
    j["console"] = Json{{"file", nullptr},
                        {"mode", "Off"},
                        {"iommu", false},
                        {"socket", nullptr}};
  }
  if (j.contains("debug_console") && j["debug_console"].is_object()) {
    j["debug_console"]["file"] = nullptr;
    j["debug_console"]["mode"] = "Off";
  }
  Confiner confiner(name, rw);
  RETURN_IF_ERROR(confiner.Check(j));
  return j.dump();
}

absl::StatusOr<std::string> RewriteChState(
    absl::string_view text, absl::string_view name,
    const std::map<std::string, std::string>& paths) {
  ASSIGN_OR_RETURN(Json j, ParseJson(text, name, 128));
  if (paths.empty()) return std::string(text);
  if (ReplacePaths(j, paths, 0) == 0) return std::string(text);
  return j.dump();
}

}  // namespace chtools::vm
