#include "lib/fs/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/io.h"

namespace chtools::fs {

using chtools::ErrnoError;

absl::Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return absl::InvalidArgumentError("mkdir: empty path");
  std::string cur;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    absl::StrAppend(&cur, "/", part);
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) {
      return ErrnoError(errno, "mkdir", cur);
    }
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoError(errno, "stat", path);
  if (!S_ISDIR(st.st_mode))
    return absl::FailedPreconditionError(path + ": not a directory");
  return absl::OkStatus();
}

absl::Status MakeNewDir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0) return ErrnoError(errno, "mkdir", path);
  return absl::OkStatus();
}

absl::Status RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return ErrnoError(ec.value(), "remove", path);
  return absl::OkStatus();
}

absl::Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, "unlink", path);
  }
  return absl::OkStatus();
}

absl::Status WriteNewFile(const std::string& path, absl::string_view data,
                          mode_t mode, bool sync) {
  chtools::UniqueFd fd(chtools::RetryEintr([&] {
    return ::open(path.c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  }));
  if (!fd.valid()) return ErrnoError(errno, "open", path);
  RETURN_IF_ERROR(WriteAll(fd.get(), data, path));
  if (sync && ::fsync(fd.get()) != 0) return ErrnoError(errno, "fsync", path);
  absl::Status s = fd.Close();
  if (!s.ok()) return s;
  return absl::OkStatus();
}

absl::Status CheckInputFile(absl::string_view what, const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, " ", path, ": ", std::generic_category().message(errno)));
  }
  if (!S_ISREG(st.st_mode) || st.st_size == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " ", path, ": not a non-empty regular file"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> FindProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* env = std::getenv("PATH");
  std::vector<std::string> dirs =
      absl::StrSplit(env ? env : "", ':', absl::SkipEmpty());
  dirs.insert(dirs.end(), {"/usr/sbin", "/sbin", "/usr/bin", "/bin"});
  for (const std::string& d : dirs) {
    std::string p = d + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return absl::NotFoundError(
      absl::StrCat(name, ": not found in PATH, /usr/sbin or /sbin"));
}

}  // namespace chtools::fs
