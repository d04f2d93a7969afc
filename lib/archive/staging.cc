#include "lib/archive/staging.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "lib/base/errno.h"

namespace chtools::archive {

StagedFiles::~StagedFiles() {
  for (const std::string& name : names_) ::unlinkat(dirfd_, name.c_str(), 0);
}

absl::StatusOr<UniqueFd> StagedFiles::Create(absl::string_view name) {
  std::string n(name);
  UniqueFd fd(RetryEintr([&] {
    return ::openat(dirfd_, n.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  }));
  if (!fd.valid()) return ErrnoError(errno, "create", n);
  names_.push_back(std::move(n));
  return fd;
}

}  // namespace chtools::archive
