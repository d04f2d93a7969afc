// FileLock: an exclusive flock(2) on a lock file, released when the object
// goes away. The lock file may be removed while held (RemoveFile); anyone who
// was waiting notices that the path now names another inode and retries.
#ifndef CHTOOLS_LIB_FS_FLOCK_H_
#define CHTOOLS_LIB_FS_FLOCK_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/base/unique_fd.h"

namespace chtools::fs {

class FileLock {
 public:
  // Locks `path` exclusively, creating it (mode 0600) if missing, waiting at
  // most `timeout`. DeadlineExceeded "lock <path>: still held by another
  // process after <timeout>"; errno errors name the path.
  static absl::StatusOr<FileLock> Acquire(absl::string_view path,
                                          absl::Duration timeout);

  // Like Acquire, but never waits: nullopt when another holder has it.
  static absl::StatusOr<std::optional<FileLock>> TryAcquire(
      absl::string_view path);

  FileLock(FileLock&&) = default;
  FileLock& operator=(FileLock&&) = default;
  ~FileLock() = default;  // closing the fd releases the lock

  // Unlinks the lock file while still holding the lock (for a VM that no
  // longer exists). The lock itself is released when the object goes away.
  absl::Status RemoveFile();

  const std::string& path() const { return path_; }

 private:
  FileLock(std::string path, UniqueFd fd)
      : path_(std::move(path)), fd_(std::move(fd)) {}
  // One attempt: open, flock (blocking per `nonblocking`), and verify the path
  // still names the locked inode. nullopt: busy (nonblocking) or raced with a
  // removal (caller retries).
  static absl::StatusOr<std::optional<FileLock>> TryOnce(
      const std::string& path, bool* busy);

  std::string path_;
  UniqueFd fd_;
};

}  // namespace chtools::fs

#endif  // CHTOOLS_LIB_FS_FLOCK_H_
