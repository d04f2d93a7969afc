#include "lib/vm/paths.h"

#include "absl/strings/str_cat.h"

namespace chtools::vm {

VmPaths PathsIn(absl::string_view run_dir, absl::string_view log_dir) {
  VmPaths p;
  p.run_dir = std::string(run_dir);
  p.log_dir = std::string(log_dir);
  p.api_socket = absl::StrCat(run_dir, "/api.sock");
  p.console_socket = absl::StrCat(run_dir, "/console.sock");
  p.pid_file = absl::StrCat(run_dir, "/ch.pid");
  p.cmdline = absl::StrCat(run_dir, "/cmdline");
  p.cow_raw = absl::StrCat(run_dir, "/cow.raw");
  p.overlay = absl::StrCat(run_dir, "/overlay.qcow2");
  p.cidata = absl::StrCat(run_dir, "/cidata.img");
  p.log_file = absl::StrCat(log_dir, "/cloud-hypervisor.log");
  p.restore_staging = absl::StrCat(run_dir, "/restore-staging");
  p.restore_done = absl::StrCat(run_dir, "/restore-done");
  return p;
}

std::string VmRunParent(const ToolConfig& config) {
  return absl::StrCat(config.run_dir(), "/cloudhypervisor");
}

std::string VmLogParent(const ToolConfig& config) {
  return absl::StrCat(config.log_dir(), "/cloudhypervisor");
}

VmPaths PathsFor(const ToolConfig& config, absl::string_view id) {
  return PathsIn(absl::StrCat(VmRunParent(config), "/", id),
                 absl::StrCat(VmLogParent(config), "/", id));
}

std::string OpLockDir(const ToolConfig& config) {
  return absl::StrCat(config.root_dir(), "/cloudhypervisor/oplocks");
}

std::string SnapshotStoreDir(const ToolConfig& config) {
  return absl::StrCat(config.root_dir(), "/cloudhypervisor/snapshots");
}

}  // namespace chtools::vm
