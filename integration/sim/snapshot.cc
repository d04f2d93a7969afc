// vm.snapshot and vm.restore (docs/ch-v51.md §4): config.json, state.json
// and memory-ranges written exclusively (0600 under umask 077) into an
// existing directory; restore reads them back and comes up Paused.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "integration/sim/devices.h"
#include "integration/sim/vmm.h"

namespace chtools::sim {
namespace {

absl::Status Err(absl::string_view chain) { return absl::InternalError(chain); }

absl::Status Chain(absl::string_view head, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(head, "\n", s.message()));
}

// "file:///dir" -> "/dir"; the directory must exist (CH never creates it).
absl::StatusOr<std::string> UrlToDir(const std::string& url) {
  if (!absl::StartsWith(url, "file://")) {
    return Err(absl::StrCat("Could not extract path from URL: ", url));
  }
  std::string path = url.substr(7);
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Err(absl::StrCat("Destination is not a directory: \"", path, "\""));
  }
  return path;
}

absl::Status WriteAllFd(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Err(OsErrorText(errno));
    p += w;
    n -= static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> CreateNew(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return Err(OsErrorText(errno));
  return UniqueFd(fd);
}

absl::Status WriteNewFile(const std::string& path, const std::string& data) {
  absl::StatusOr<UniqueFd> fd = CreateNew(path);
  if (!fd.ok()) return fd.status();
  return WriteAllFd(fd->get(), data.data(), data.size());
}

// Writes guest RAM at its offsets. Default: only pages that were ever touched
// and are not all zero are written; the rest stay holes in a file of RAM
// size. `dense`: every byte is written, as CH does.
// Rust's write_all at an offset: a short write goes on with the rest, so a
// full disk ends in the next write's ENOSPC (never a bogus "os error 0").
absl::Status PwriteAll(int fd, const unsigned char* p, uint64_t len,
                       uint64_t off) {
  while (len > 0) {
    ssize_t n = pwrite(fd, p, len, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Err(OsErrorText(errno));
    }
    if (n == 0) return Err("failed to write whole buffer");
    p += n;
    off += static_cast<uint64_t>(n);
    len -= static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status WriteMemory(int fd, GuestMemory& mem, uint64_t limit, bool dense) {
  if (dense) {
    // As CH: every byte is written, zeros included (untouched pages read
    // as the shared zero page, so RAM use does not grow).
    const uint64_t chunk = 4u << 20;
    for (uint64_t off = 0; off < limit; off += chunk) {
      uint64_t len = std::min(chunk, limit - off);
      if (absl::Status s = PwriteAll(fd, mem.data() + off, len, off); !s.ok())
        return s;
    }
    return absl::OkStatus();
  }
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t pages = (mem.size() + page - 1) / page;
  std::vector<unsigned char> resident(pages);
  if (mincore(mem.data(), mem.size(), resident.data()) != 0) {
    std::fill(resident.begin(), resident.end(), 1);
  }
  static const std::vector<unsigned char> zero(1 << 16);
  for (uint64_t i = 0; i < pages; ++i) {
    if (!(resident[i] & 1)) continue;
    uint64_t off = i * page;
    if (off >= limit) break;
    uint64_t len = std::min(page, mem.size() - off);
    if (memcmp(mem.data() + off, zero.data(), len) == 0) continue;
    if (absl::Status s = PwriteAll(fd, mem.data() + off, len, off); !s.ok())
      return s;
  }
  if (ftruncate(fd, static_cast<off_t>(limit)) != 0)
    return Err(OsErrorText(errno));
  return absl::OkStatus();
}

Json Node(const Json& state, Json children = Json::object()) {
  return Json{
      {"snapshots", std::move(children)},
      {"snapshot_data",
       state.is_null() ? Json(nullptr) : Json{{"state", state.dump()}}}};
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Err(OsErrorText(errno));
  UniqueFd owned(fd);
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0)
    out.append(buf, static_cast<size_t>(n));
  if (n < 0) return Err(OsErrorText(errno));
  return out;
}

// The inner, string-encoded state of a snapshot node.
absl::StatusOr<Json> Inner(const Json& node, const char* what) {
  if (!node.is_object() || !node["snapshot_data"].is_object() ||
      !node["snapshot_data"]["state"].is_string()) {
    return Err(absl::StrCat("missing field `state` in ", what));
  }
  Json j = Json::parse(node["snapshot_data"]["state"].get<std::string>(),
                       nullptr, false);
  if (j.is_discarded()) return Err(absl::StrCat("invalid state of ", what));
  return j;
}

absl::StatusOr<RestoreState> ParseState(const Json& s) {
  RestoreState rs;
  if (!s.is_object() || !s["snapshots"].is_object())
    return Err("missing field `snapshots`");
  const Json& snaps = s["snapshots"];
  if (!snaps["cpu-manager"].is_object() ||
      !snaps["cpu-manager"]["snapshots"].is_object()) {
    return Err("missing field `cpu-manager`");
  }
  rs.vcpus = static_cast<int>(snaps["cpu-manager"]["snapshots"].size());
  absl::StatusOr<Json> mm = Inner(snaps["memory-manager"], "memory-manager");
  if (!mm.ok()) return mm.status();
  if (!(*mm)["memory_ranges"].is_object() ||
      !(*mm)["memory_ranges"]["data"].is_array()) {
    return Err("missing field `memory_ranges`");
  }
  for (const Json& r : (*mm)["memory_ranges"]["data"]) {
    if (!r["length"].is_number_unsigned()) return Err("invalid memory range");
    rs.memory_size += r["length"].get<uint64_t>();
  }
  absl::StatusOr<Json> dm = Inner(snaps["device-manager"], "device-manager");
  if (!dm.ok()) return dm.status();
  if ((*dm)["device_tree"].is_object()) rs.device_tree = (*dm)["device_tree"];
  if ((*dm)["device_id_cnt"].is_number_unsigned()) {
    rs.device_id_cnt = (*dm)["device_id_cnt"].get<uint64_t>();
  }
  for (auto& [id, child] : snaps["device-manager"]["snapshots"].items()) {
    absl::StatusOr<Json> d = Inner(child, "device");
    if (d.ok() && (*d)["mac"].is_string())
      rs.net_macs[id] = (*d)["mac"].get<std::string>();
  }
  if (rs.vcpus < 1 || rs.memory_size == 0)
    return Err("empty cpu or memory state");
  return rs;
}

}  // namespace

absl::Status Vmm::Snapshot(const Json& body) {
  const char* head = "The VM could not be snapshotted";
  if (!vm_) return Chain(head, Err("VM is not running"));
  if (vm_->state != VmState::kPaused) {
    return Chain(
        head,
        Err("Cannot snapshot VM\nFailed to snapshot migratable component\n"
            "Trying to snapshot while VM is running"));
  }
  const std::string send =
      "Cannot send VM snapshot\nFailed to send migratable component snapshot";
  absl::StatusOr<std::string> dir =
      UrlToDir(body["destination_url"].get<std::string>());
  if (!dir.ok()) return Chain(head, Chain(send, dir.status()));
  // CH blocks its only API thread while RAM is written.
  if (knobs_.snapshot_delay > absl::ZeroDuration())
    absl::SleepFor(knobs_.snapshot_delay);
  // Host resources are let go: later vm.boot re-creates outputs (gotcha 18).
  consoles_dropped_ = true;
  Json cpus = Json::object();
  for (int i = 0; i < vm_->vcpus; ++i) {
    cpus[std::to_string(i)] = Node(Json{{"id", i}, {"regs", "simulated"}});
  }
  Json devices = Json::object();
  for (auto& n : vm_->nets)
    devices[n->id] = Node(Json{{"mac", n->mac}, {"tap", n->tap}});
  for (auto& d : vm_->disks) devices[d->id] = Node(Json{{"path", d->path}});
  uint64_t ram = vm_->memory->size();
  Json state{
      {"snapshots",
       Json{{"cpu-manager", Node(nullptr, cpus)},
            {"device-manager", Node(Json{{"device_tree", vm_->device_tree},
                                         {"device_id_cnt", vm_->device_id_cnt}},
                                    devices)},
            {"memory-manager",
             Node(Json{{"memory_ranges",
                        Json{{"data", Json::array({Json{{"gpa", 0},
                                                        {"length", ram}}})}}},
                       {"boot_ram", ram},
                       {"current_ram", ram}})}}},
      {"snapshot_data",
       Json{{"state", Json{{"clock", Json{{"tsc", 0}}}, {"simulator", "chsim"}}
                          .dump()}}}};
  if (absl::Status s = WriteNewFile(*dir + "/config.json", config_->dump());
      !s.ok()) {
    return Chain(head, Chain(send, s));
  }
  if (absl::Status s = WriteNewFile(*dir + "/state.json", state.dump());
      !s.ok()) {
    return Chain(head, Chain(send, s));
  }
  absl::StatusOr<UniqueFd> mem = CreateNew(*dir + "/memory-ranges");
  if (!mem.ok()) return Chain(head, Chain(send, mem.status()));
  if (knobs_.crash_in_snapshot) {
    (void)WriteMemory(mem->get(), *vm_->memory, ram / 2,
                      knobs_.dense_memory_ranges);
    kill(getpid(), SIGKILL);
  }
  if (absl::Status s = WriteMemory(mem->get(), *vm_->memory, ram,
                                   knobs_.dense_memory_ranges);
      !s.ok()) {
    return Chain(head, Chain(send, s));
  }
  if (absl::Status s = mem->Close(); !s.ok())
    return Chain(head, Chain(send, Err(s.message())));
  return absl::OkStatus();
}

absl::Status Vmm::Restore(const Json& body) {
  const char* head = "The VM could not be restored";
  if (config_ || vm_) return Chain(head, Err("VM is already created"));
  // A large RAM image takes a while to read in; the API blocks meanwhile.
  if (knobs_.restore_delay > absl::ZeroDuration())
    absl::SleepFor(knobs_.restore_delay);
  const std::string recv =
      "Cannot restore VM\nFailed to receive migratable component snapshot";
  absl::StatusOr<std::string> dir =
      UrlToDir(body["source_url"].get<std::string>());
  if (!dir.ok()) {
    return Chain(head,
                 Chain("Cannot restore VM\nFailed to send migratable component "
                       "snapshot",
                       dir.status()));
  }
  absl::StatusOr<std::string> cfg_text = ReadFile(*dir + "/config.json");
  if (!cfg_text.ok()) return Chain(head, Chain(recv, cfg_text.status()));
  Json cfg_json = Json::parse(*cfg_text, nullptr, false);
  if (cfg_json.is_discarded()) {
    return Chain(head, Chain(recv, Err("config.json: syntax error")));
  }
  absl::StatusOr<Json> cfg = NormalizeVmConfig(cfg_json);
  if (!cfg.ok()) return Chain(head, Chain(recv, Err(cfg.status().message())));
  if ((*cfg)["net"].is_array()) {
    for (const Json& n : (*cfg)["net"]) {
      if (n["fds"].is_array() && !n["fds"].empty() &&
          body["net_fds"].is_null()) {
        return Chain(
            head, Err(absl::StrCat("Net id ", n["id"].dump(),
                                   " is associated with FDs and is required")));
      }
    }
  }
  absl::StatusOr<std::string> state_text = ReadFile(*dir + "/state.json");
  if (!state_text.ok()) return Chain(head, Chain(recv, state_text.status()));
  Json state_json = Json::parse(*state_text, nullptr, false);
  if (state_json.is_discarded()) {
    return Chain(head, Chain(recv, Err("state.json: syntax error")));
  }
  absl::StatusOr<RestoreState> rs = ParseState(state_json);
  if (!rs.ok()) return Chain(head, Chain(recv, rs.status()));
  rs->memory_path = *dir + "/memory-ranges";
  config_ = *std::move(cfg);
  // From here on a failure leaves the Vmm empty again (vm_delete).
  auto fail = [&](const absl::Status& s) {
    Delete();
    return Chain(head, s);
  };
  if (absl::Status s = CreateConsoles(); !s.ok()) return fail(s);
  if (knobs_.fail_restore) {
    return fail(
        Err("Cannot restore VM\nsimulated failure (CHSIM_FAIL_RESTORE=1)"));
  }
  auto vm = BuildVm(*config_, &*rs);
  if (!vm.ok()) return fail(vm.status());
  vm_ = *std::move(vm);
  vm_->serial = std::move(serial_);
  vm_->console = std::move(console_);
  consoles_ready_ = false;
  for (auto& d : vm_->disks) {
    if (absl::Status s = LockDisk(*d); !s.ok()) return fail(s);
  }
  vm_->state = VmState::kPaused;
  StartGuest(/*cold=*/false);
  return absl::OkStatus();
}

}  // namespace chtools::sim
