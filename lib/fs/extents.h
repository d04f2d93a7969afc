// DataExtents: where a (sparse) file keeps its data, found with
// lseek(SEEK_DATA/SEEK_HOLE); everything between the extents reads as zeros.
#ifndef CHTOOLS_LIB_FS_EXTENTS_H_
#define CHTOOLS_LIB_FS_EXTENTS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chtools::fs {

// A byte range [offset, offset + length) of a file.
struct Extent {
  uint64_t offset = 0;
  uint64_t length = 0;

  uint64_t end() const { return offset + length; }
  friend bool operator==(const Extent&, const Extent&) = default;
};

// The data ranges of the regular file `fd` within [0, size), in order, non-
// empty and not touching each other; `size` is normally its fstat size.
// Filesystems without SEEK_DATA support report one extent [0, size). The
// granularity is the filesystem's (a block, a page): a "data" range may hold
// zeros, a hole never holds anything else. The fd's file offset is restored.
// Errors name `name`.
absl::StatusOr<std::vector<Extent>> DataExtents(int fd, absl::string_view name,
                                                uint64_t size);

// The sum of the lengths of DataExtents(fd, name, size).
absl::StatusOr<uint64_t> DataBytes(int fd, absl::string_view name,
                                   uint64_t size);

}  // namespace chtools::fs

#endif  // CHTOOLS_LIB_FS_EXTENTS_H_
