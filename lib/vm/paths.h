// Every path the tools act on for a VM, derived from the settings and the
// VM id only: a record's run_dir/log_dir are never trusted (a record on stdin
// is a request, not an authority). Pure.
#ifndef CHTOOLS_LIB_VM_PATHS_H_
#define CHTOOLS_LIB_VM_PATHS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "lib/record/records.pb.h"

namespace chtools::vm {

struct VmPaths {
  std::string run_dir;         // <run>/cloudhypervisor/<id>
  std::string log_dir;         // <log>/cloudhypervisor/<id>
  std::string api_socket;      // <run_dir>/api.sock
  std::string console_socket;  // <run_dir>/console.sock (firmware boot serial)
  std::string pid_file;        // <run_dir>/ch.pid
  std::string cmdline;         // <run_dir>/cmdline (the exact CH command)
  std::string cow_raw;         // <run_dir>/cow.raw (direct boot)
  std::string overlay;         // <run_dir>/overlay.qcow2 (cloud image)
  std::string cidata;          // <run_dir>/cidata.img (cloud image)
  std::string log_file;        // <log_dir>/cloud-hypervisor.log
  // A restore under way stages in here and keeps the VM's previous disk in
  // it (previous-<disk>) once the VM is stopped (lib/vm/clone.h).
  std::string restore_staging;  // <run_dir>/restore-staging
  // A restore that succeeded renames its staging dir to this first: the
  // commit point (what is in it is garbage).
  std::string restore_done;  // <run_dir>/restore-done
};

// The paths of VM `id` under the settings' run and log dirs.
VmPaths PathsFor(const ToolConfig& config, absl::string_view id);

// The same file names inside given per-VM dirs (tests and goldens).
VmPaths PathsIn(absl::string_view run_dir, absl::string_view log_dir);

// <run>/cloudhypervisor and <log>/cloudhypervisor: the parents of the per-VM
// dirs (checks look there for orphans).
std::string VmRunParent(const ToolConfig& config);
std::string VmLogParent(const ToolConfig& config);

// <root>/cloudhypervisor/oplocks: one lock file per VM id, held for the
// whole of an operation on the VM (OpLock).
std::string OpLockDir(const ToolConfig& config);

// <root>/cloudhypervisor/snapshots: the snapshot store.
std::string SnapshotStoreDir(const ToolConfig& config);

}  // namespace chtools::vm

#endif  // CHTOOLS_LIB_VM_PATHS_H_
