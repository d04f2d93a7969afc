// WriteFileAtomically: temp file + fsync + rename + fsync dir.
#include "lib/fs/atomic_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/io.h"

namespace chtools::fs {
namespace {

std::string DirName(absl::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == absl::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
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
                                 absl::string_view contents, mode_t mode,
                                 bool sync) {
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
  if (sync && RetryEintr([&] { return ::fsync(fd.get()); }) != 0) {
    return ErrnoError(errno, "fsync", temp);
  }
  RETURN_IF_ERROR(fd.Close());
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    return ErrnoError(errno, "rename", target);
  }
  renamed = true;
  return sync ? FsyncDir(DirName(path)) : absl::OkStatus();
}

absl::Status FsyncDir(absl::string_view dir) {
  std::string d(dir);
  UniqueFd fd(RetryEintr(
      [&] { return ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); }));
  if (!fd) return ErrnoError(errno, "open", d);
  if (RetryEintr([&] { return ::fsync(fd.get()); }) != 0 && errno != EINVAL) {
    return ErrnoError(errno, "fsync", d);
  }
  return absl::OkStatus();
}

}  // namespace chtools::fs
