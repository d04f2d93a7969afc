// SparseCopy: copies a regular file's data extents only, so that its holes
// stay holes in the copy (a VM disk or RAM image of GiBs holding MiBs).
#ifndef CHTOOLS_LIB_FS_SPARSE_COPY_H_
#define CHTOOLS_LIB_FS_SPARSE_COPY_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chtools::fs {

struct CopyStats {
  uint64_t size = 0;        // logical size of the source (and the copy)
  uint64_t data_bytes = 0;  // bytes in the source's data extents
};

// Makes the regular file `dst_fd` (open for writing, not O_APPEND) a copy of
// the regular file `src_fd`: dst is truncated to 0, each data extent is
// copied at its offset with copy_file_range (pread/pwrite where the kernel
// refuses: EXDEV, EINVAL, ENOSYS, EOPNOTSUPP), and dst is truncated up to
// the source size. Neither fd's file offset moves; dst is not fsynced, and
// after an error it holds part of the copy (the caller removes it).
// Errors name the file(s) involved: ResourceExhausted (ENOSPC, EDQUOT) names
// dst; InvalidArgument if either is not a regular file, dst is O_APPEND or
// both are the same file; FailedPrecondition if src shrinks meanwhile.
absl::StatusOr<CopyStats> SparseCopy(int src_fd, int dst_fd,
                                     absl::string_view src_name,
                                     absl::string_view dst_name);

}  // namespace chtools::fs

#endif  // CHTOOLS_LIB_FS_SPARSE_COPY_H_
