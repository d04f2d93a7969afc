// Reflink: a copy that shares the source's blocks (ioctl FICLONE on XFS,
// btrfs, bcachefs...), and CloneOrCopy, which falls back to SparseCopy where
// the filesystem cannot share.
#ifndef CHTOOLS_LIB_FS_REFLINK_H_
#define CHTOOLS_LIB_FS_REFLINK_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/fs/sparse_copy.h"

namespace chtools::fs {

// Makes the regular file `dst_fd` (open for writing) share all of
// `src_fd`'s blocks: its contents and size become the source's, in one
// metadata operation. Errors name both files; the codes follow errno
// (Unimplemented for EOPNOTSUPP and EXDEV, InvalidArgument for EINVAL and
// ENOTTY: "not here", see CloneOrCopy).
absl::Status Reflink(int src_fd, int dst_fd, absl::string_view src_name,
                     absl::string_view dst_name);

enum class CopyMethod {
  kReflink,     // dst shares src's blocks
  kSparseCopy,  // dst got its own copy of src's data extents
};

struct CloneResult {
  CopyMethod method = CopyMethod::kSparseCopy;
  // For kReflink, data_bytes counts the source's data extents (now shared).
  CopyStats stats;
};

// Reflink, or SparseCopy if the filesystem cannot (FICLONE fails with
// EOPNOTSUPP, EXDEV, EINVAL or ENOTTY: tmpfs, ext4, two filesystems, no
// reflink=1). Returns the method used. Other FICLONE errors (EBADF, EPERM,
// ENOSPC...) are returned as by Reflink; SparseCopy errors as by SparseCopy.
absl::StatusOr<CloneResult> CloneOrCopy(int src_fd, int dst_fd,
                                        absl::string_view src_name,
                                        absl::string_view dst_name);

}  // namespace chtools::fs

#endif  // CHTOOLS_LIB_FS_REFLINK_H_
