// FileLock: flock(2) with a bounded wait and safe removal of the lock file.
#include "lib/fs/flock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/base/errno.h"

namespace chtools::fs {

absl::StatusOr<std::optional<FileLock>> FileLock::TryOnce(
    const std::string& path, bool* busy) {
  *busy = false;
  UniqueFd fd(RetryEintr([&] {
    return ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  }));
  if (!fd) return ErrnoError(errno, "open", path);
  if (RetryEintr([&] { return ::flock(fd.get(), LOCK_EX | LOCK_NB); }) != 0) {
    if (errno == EWOULDBLOCK) {
      *busy = true;
      return std::nullopt;
    }
    return ErrnoError(errno, "flock", path);
  }
  // The holder before us may have unlinked the file (RemoveFile); a lock on
  // an unlinked inode protects nothing, so the caller must start over.
  struct stat by_fd, by_path;
  if (::fstat(fd.get(), &by_fd) != 0) return ErrnoError(errno, "fstat", path);
  if (::stat(path.c_str(), &by_path) != 0) {
    if (errno == ENOENT) return std::nullopt;
    return ErrnoError(errno, "stat", path);
  }
  if (by_fd.st_ino != by_path.st_ino || by_fd.st_dev != by_path.st_dev) {
    return std::nullopt;
  }
  return FileLock(path, std::move(fd));
}

absl::StatusOr<FileLock> FileLock::Acquire(absl::string_view path,
                                           absl::Duration timeout) {
  std::string p(path);
  absl::Time deadline = absl::Now() + timeout;
  // flock has no timeout, so a busy lock is polled; the first retries are
  // quick because most holders keep a VM lock for well under a millisecond.
  absl::Duration pause = absl::Microseconds(20);
  for (;;) {
    bool busy = false;
    absl::StatusOr<std::optional<FileLock>> attempt = TryOnce(p, &busy);
    if (!attempt.ok()) return attempt.status();
    if (attempt->has_value()) return std::move(**attempt);
    if (!busy) continue;  // raced with RemoveFile: retry at once
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("lock ", p, ": still held by another process after ",
                       absl::FormatDuration(timeout)));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(5));
  }
}

absl::StatusOr<std::optional<FileLock>> FileLock::TryAcquire(
    absl::string_view path) {
  std::string p(path);
  for (;;) {
    bool busy = false;
    absl::StatusOr<std::optional<FileLock>> attempt = TryOnce(p, &busy);
    if (!attempt.ok()) return attempt.status();
    if (attempt->has_value() || busy) return attempt;
  }
}

absl::Status FileLock::RemoveFile() {
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, "unlink", path_);
  }
  return absl::OkStatus();
}

}  // namespace chtools::fs
