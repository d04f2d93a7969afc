#include "lib/vm/tap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/files.h"
#include "lib/process/spawn.h"
#include "nlohmann/json.hpp"

namespace chtools::vm {
namespace {

constexpr long kNsfsMagic = 0x6e736673;  // NSFS_MAGIC

// True if `path` is the caller's own network namespace (no setns needed,
// and none is allowed in some sandboxes).
bool IsOwnNetns(const std::string& path) {
  struct stat a, b;
  return ::stat(path.c_str(), &a) == 0 &&
         ::stat("/proc/self/ns/net", &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

}  // namespace

absl::Status CheckNetns(const std::string& field, const std::string& path) {
  UniqueFd fd(
      RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd.valid()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", ErrnoError(errno, "open", path).message()));
  }
  struct statfs st;
  if (::fstatfs(fd.get(), &st) != 0 ||
      static_cast<long>(st.f_type) != kNsfsMagic) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", path, " is not a network namespace"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TapState> ProbeTap(const std::string& netns_path,
                                  const std::string& name) {
  ASSIGN_OR_RETURN(std::string ip, fs::FindProgram("ip"));
  process::SpawnOptions o;
  o.argv = {ip, "-d", "-j", "link", "show", "dev", name};
  if (!IsOwnNetns(netns_path)) o.netns_path = netns_path;
  ASSIGN_OR_RETURN(process::CommandResult r,
                   process::RunCommand(o, absl::Seconds(10)));
  TapState t;
  if (!r.exit.exited() || r.exit.code() != 0) {
    // `ip` says "Device "x" does not exist." and exits 1.
    if (r.err.find("does not exist") != std::string::npos) return t;
    return absl::InternalError(
        absl::StrCat("ip link show dev ", name, ": ", r.err));
  }
  nlohmann::json j =
      nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_array() || j.empty()) {
    return absl::InternalError(
        absl::StrCat("ip link show dev ", name, ": unreadable output"));
  }
  t.exists = true;
  const nlohmann::json& li = j[0].value("linkinfo", nlohmann::json::object());
  const nlohmann::json& data = li.value("info_data", nlohmann::json::object());
  t.is_tap =
      li.value("info_kind", "") == "tun" && data.value("type", "") == "tap";
  t.multi_queue = data.value("multi_queue", false);
  return t;
}

absl::Status CheckNics(const Vm& vm) {
  for (int i = 0; i < vm.network_size(); ++i) {
    const NetworkConfig& nic = vm.network(i);
    const std::string field = absl::StrCat("network[", i, "]");
    if (!nic.netns_path().empty()) {
      RETURN_IF_ERROR(CheckNetns(field + ".netns_path", nic.netns_path()));
    }
    ASSIGN_OR_RETURN(TapState t, ProbeTap(nic.netns_path(), nic.tap()));
    if (!t.exists) continue;  // CH makes it, with the queues it wants
    const std::string where =
        nic.netns_path().empty() ? "" : absl::StrCat(" in ", nic.netns_path());
    if (!t.is_tap) {
      return absl::FailedPreconditionError(
          absl::StrCat(field, ".tap: ", nic.tap(), " exists", where,
                       " but is not a tap device"));
    }
    // Queue pairs beyond one need IFF_MULTI_QUEUE on the tap.
    if (nic.num_queues() > 2 && !t.multi_queue) {
      return absl::FailedPreconditionError(absl::StrCat(
          field, ".tap: ", nic.tap(), " exists", where,
          " as a single-queue tap, but ", vm.config().cpu(), " vCPUs need ",
          nic.num_queues(), " queues: recreate it with `ip tuntap add dev ",
          nic.tap(), " mode tap multi_queue`, or give the VM 1 vCPU"));
    }
  }
  return absl::OkStatus();
}

}  // namespace chtools::vm
