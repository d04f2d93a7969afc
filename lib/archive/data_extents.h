// The data extents of an open file, found with lseek(SEEK_DATA/SEEK_HOLE):
// what a writer stores of a sparse file.
#ifndef CHTOOLS_LIB_ARCHIVE_DATA_EXTENTS_H_
#define CHTOOLS_LIB_ARCHIVE_DATA_EXTENTS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/archive/sparse_map.h"

namespace chtools::archive {

// The data extents of the first `size` bytes of `fd`, sorted and disjoint;
// everything else reads as zeros. A file system without SEEK_DATA (EINVAL)
// yields one extent covering everything. Does not move the fd's offset in a
// way callers rely on. Errors name `name`.
absl::StatusOr<std::vector<Extent>> DataExtents(int fd, uint64_t size,
                                                absl::string_view name);

}  // namespace chtools::archive

#endif  // CHTOOLS_LIB_ARCHIVE_DATA_EXTENTS_H_
