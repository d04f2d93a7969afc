// WriteFileAtomically: temp file + fsync + rename + fsync dir.
#include "lib/index/atomic_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"

namespace chtools::index {
namespace {

std::string DirName(absl::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == absl::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n =
        RetryEintr([&] { return ::write(fd, data.data(), data.size()); });
    if (n < 0) return ErrnoError(errno, "write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadAll(UniqueFd fd, const std::string& path) {
  std::string out;
  // Records are small: one read usually does it.
  size_t chunk = 4096;
  for (;;) {
    size_t old = out.size();
    out.resize(old + chunk);
    ssize_t n =
        RetryEintr([&] { return ::read(fd.get(), out.data() + old, chunk); });
    if (n < 0) return ErrnoError(errno, "read", path);
    out.resize(old + static_cast<size_t>(n));
    if (n == 0) return out;
    if (chunk < (1 << 20)) chunk *= 2;
  }
}

}  // namespace

std::string TempPrefixFor(absl::string_view path) {
  size_t slash = path.rfind('/');
  absl::string_view base =
      slash == absl::string_view::npos ? path : path.substr(slash + 1);
  std::string dir = DirName(path);
  return absl::StrCat(dir, "/.", base, ".tmp-");
}

absl::Status WriteFileAtomically(absl::string_view path,
                                 absl::string_view contents, mode_t mode) {
  std::string target(path);
  std::string temp = TempPrefixFor(path) + "XXXXXX";
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd) return ErrnoError(errno, "mkostemp", temp);
  bool renamed = false;
  absl::Cleanup remove_temp = [&] {
    if (!renamed) ::unlink(temp.c_str());
  };
  if (::fchmod(fd.get(), mode) != 0) return ErrnoError(errno, "fchmod", temp);
  RETURN_IF_ERROR(WriteAll(fd.get(), contents, temp));
  if (RetryEintr([&] { return ::fsync(fd.get()); }) != 0) {
    return ErrnoError(errno, "fsync", temp);
  }
  RETURN_IF_ERROR(fd.Close());
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    return ErrnoError(errno, "rename", target);
  }
  renamed = true;
  return FsyncDir(DirName(path));
}

absl::Status FsyncDir(absl::string_view dir) {
  std::string d(dir);
  UniqueFd fd(RetryEintr([&] {
    return ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }));
  if (!fd) return ErrnoError(errno, "open", d);
  if (RetryEintr([&] { return ::fsync(fd.get()); }) != 0 && errno != EINVAL) {
    return ErrnoError(errno, "fsync", d);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFileToString(absl::string_view path) {
  std::string p(path);
  UniqueFd fd(
      RetryEintr([&] { return ::open(p.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd) return ErrnoError(errno, "open", p);
  return ReadAll(std::move(fd), p);
}

absl::StatusOr<std::string> ReadFileAt(int dirfd, absl::string_view name,
                                       absl::string_view path_for_errors) {
  std::string n(name);
  UniqueFd fd(RetryEintr(
      [&] { return ::openat(dirfd, n.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd) return ErrnoError(errno, "open", path_for_errors);
  return ReadAll(std::move(fd), std::string(path_for_errors));
}

}  // namespace chtools::index
