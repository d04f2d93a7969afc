#include "lib/base/unique_fd.h"

#include <unistd.h>

#include <cerrno>

#include "lib/base/errno.h"

namespace chtools {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

absl::Status UniqueFd::Close() {
  if (fd_ < 0) return absl::OkStatus();
  int fd = release();
  // close(2) must not be retried on EINTR on Linux: the fd is gone either way.
  if (::close(fd) != 0 && errno != EINTR) return ErrnoError(errno, "close");
  return absl::OkStatus();
}

}  // namespace chtools
