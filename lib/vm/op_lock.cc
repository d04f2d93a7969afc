#include "lib/vm/op_lock.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/fs/files.h"
#include "lib/vm/paths.h"

namespace chtools::vm {

absl::StatusOr<fs::FileLock> LockVm(const ToolConfig& config,
                                    absl::string_view id,
                                    absl::Duration timeout) {
  RETURN_IF_ERROR(fs::MakeDirs(OpLockDir(config), 0700));
  absl::StatusOr<fs::FileLock> lock =
      fs::FileLock::Acquire(absl::StrCat(OpLockDir(config), "/", id), timeout);
  if (absl::IsDeadlineExceeded(lock.status())) {
    return absl::DeadlineExceededError(
        absl::StrCat("another operation on this VM is still running (",
                     lock.status().message(), ")"));
  }
  return lock;
}

absl::StatusOr<std::optional<fs::FileLock>> TryLockVm(const ToolConfig& config,
                                                      absl::string_view id) {
  RETURN_IF_ERROR(fs::MakeDirs(OpLockDir(config), 0700));
  return fs::FileLock::TryAcquire(absl::StrCat(OpLockDir(config), "/", id));
}

}  // namespace chtools::vm
