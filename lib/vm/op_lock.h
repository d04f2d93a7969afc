// The per-VM operation lock: one start/stop/rm/create/snapshot/... of a VM at
// a time, across processes. Taken inside the operations of lib/vm, so every
// caller (ch-launch, vm-index rm, benchmarks, later tools) honours it.
#ifndef CHTOOLS_LIB_VM_OP_LOCK_H_
#define CHTOOLS_LIB_VM_OP_LOCK_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/fs/flock.h"
#include "lib/record/records.pb.h"

namespace chtools::vm {

// Locks VM `id` (a flock on <root>/cloudhypervisor/oplocks/<id>, O_CLOEXEC so
// CH never inherits it), waiting at most `timeout`. DeadlineExceeded names
// the VM's lock and says another operation holds it.
absl::StatusOr<fs::FileLock> LockVm(const ToolConfig& config,
                                    absl::string_view id,
                                    absl::Duration timeout);

// Never waits: nullopt when an operation on `id` is in flight.
absl::StatusOr<std::optional<fs::FileLock>> TryLockVm(const ToolConfig& config,
                                                      absl::string_view id);

}  // namespace chtools::vm

#endif  // CHTOOLS_LIB_VM_OP_LOCK_H_
