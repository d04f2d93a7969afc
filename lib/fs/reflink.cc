#include "lib/fs/reflink.h"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/fs/extents.h"

namespace chtools::fs {
namespace {

// 0 or the errno of ioctl(FICLONE).
int Ficlone(int src_fd, int dst_fd) {
  if (RetryEintr([&] { return ::ioctl(dst_fd, FICLONE, src_fd); }) == 0) {
    return 0;
  }
  return errno;
}

absl::Status FicloneError(int err, absl::string_view src_name,
                          absl::string_view dst_name) {
  if (err == ENOSPC || err == EDQUOT)
    return ErrnoError(err, "FICLONE", dst_name);
  return ErrnoError(err, "FICLONE", absl::StrCat(src_name, " -> ", dst_name));
}

}  // namespace

absl::Status Reflink(int src_fd, int dst_fd, absl::string_view src_name,
                     absl::string_view dst_name) {
  const int err = Ficlone(src_fd, dst_fd);
  if (err != 0) return FicloneError(err, src_name, dst_name);
  return absl::OkStatus();
}

absl::StatusOr<CloneResult> CloneOrCopy(int src_fd, int dst_fd,
                                        absl::string_view src_name,
                                        absl::string_view dst_name) {
  const int err = Ficlone(src_fd, dst_fd);
  if (err == 0) {
    struct stat st;
    if (::fstat(src_fd, &st) != 0) return ErrnoError(errno, "fstat", src_name);
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    ASSIGN_OR_RETURN(uint64_t data_bytes, DataBytes(src_fd, src_name, size));
    return CloneResult{.method = CopyMethod::kReflink,
                       .stats = {.size = size, .data_bytes = data_bytes}};
  }
  // EOPNOTSUPP: no reflink in this filesystem (tmpfs, ext4, XFS without
  // reflink=1); EXDEV: two filesystems; EINVAL: a filesystem or file kind
  // that does not know the call; ENOTTY: neither does its ioctl table.
  if (err != EOPNOTSUPP && err != EXDEV && err != EINVAL && err != ENOTTY) {
    return FicloneError(err, src_name, dst_name);
  }
  ASSIGN_OR_RETURN(CopyStats stats,
                   SparseCopy(src_fd, dst_fd, src_name, dst_name));
  return CloneResult{.method = CopyMethod::kSparseCopy, .stats = stats};
}

}  // namespace chtools::fs
