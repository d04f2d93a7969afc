#include "lib/fs/io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"
#include "lib/base/unique_fd.h"

namespace chtools::fs {

absl::Status WriteAll(int fd, absl::string_view data, absl::string_view name) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "write", name);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadAll(int fd, absl::string_view name,
                                    size_t limit) {
  std::string data;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "read", name);
    }
    if (n == 0) break;
    if (data.size() + static_cast<size_t>(n) > limit) {
      return absl::OutOfRangeError(
          absl::StrCat(name, ": more than ", limit, " bytes"));
    }
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

absl::StatusOr<std::string> ReadFileToString(absl::string_view path,
                                             size_t limit) {
  return ReadFileAt(AT_FDCWD, path, path, limit);
}

absl::StatusOr<std::string> ReadFileAt(int dirfd, absl::string_view name,
                                       absl::string_view path_for_errors,
                                       size_t limit) {
  std::string n(name);
  UniqueFd fd(RetryEintr(
      [&] { return ::openat(dirfd, n.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd.valid()) return ErrnoError(errno, "open", path_for_errors);
  return ReadAll(fd.get(), path_for_errors, limit);
}

}  // namespace chtools::fs
