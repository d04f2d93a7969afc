// Sparse maps of archive entries: the data extents of a file with holes.
// Checks that a map read from an untrusted archive is sorted,
// non-overlapping and inside the entry, with overflow-checked arithmetic.
// Pure: no syscalls.
#ifndef CHTOOLS_LIB_ARCHIVE_SPARSE_MAP_H_
#define CHTOOLS_LIB_ARCHIVE_SPARSE_MAP_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "lib/fs/extents.h"

namespace chtools::archive {

// One run of data: `length` bytes at `offset`; the rest of a file is holes
// (the same type lib/fs finds a file's data extents with).
using Extent = ::chtools::fs::Extent;

// a + b, or nullopt if it overflows.
std::optional<uint64_t> CheckedAdd(uint64_t a, uint64_t b);

// A declared map: at most `max_extents` extents, each inside [0, size],
// sorted and non-overlapping (touching is fine; empty extents are allowed
// anywhere inside, as writers put one at `size` to mark the end).
// InvalidArgument naming the rule ("sparse map out of order", "sparse map
// overlap", "sparse map past entry size", "sparse map too long") and the
// extent.
absl::Status CheckSparseMap(absl::Span<const Extent> map, uint64_t size,
                            uint64_t max_extents);

// Follows the data blocks of one entry as a reader returns them (offset,
// length) and enforces the same rules on them: this is what matters, since
// the blocks are what gets written.
class BlockTracker {
 public:
  explicit BlockTracker(uint64_t size) : size_(size) {}

  // Accepts the next block and returns the number of hole bytes between the
  // end of the previous block and this one, or InvalidArgument with the rule
  // broken (same names as CheckSparseMap).
  absl::StatusOr<uint64_t> Next(uint64_t offset, uint64_t length);

  // End of the last block (0 before any).
  uint64_t end() const { return end_; }
  // Sum of the block lengths so far.
  uint64_t data_bytes() const { return data_bytes_; }

 private:
  uint64_t size_;
  uint64_t run_start_ = 0;  // start of the run of touching blocks
  uint64_t end_ = 0;
  uint64_t data_bytes_ = 0;
};

}  // namespace chtools::archive

#endif  // CHTOOLS_LIB_ARCHIVE_SPARSE_MAP_H_
