#include "lib/archive/sparse_map.h"

#include "absl/strings/str_cat.h"

namespace chtools::archive {
namespace {

std::string Range(uint64_t offset, uint64_t length) {
  return absl::StrCat("[", offset, ", +", length, ")");
}

absl::Status PastSize(uint64_t offset, uint64_t length, uint64_t size) {
  return absl::InvalidArgumentError(absl::StrCat(
      "sparse map past entry size: data at ", Range(offset, length),
      " ends beyond the entry's size of ", size, " bytes"));
}

}  // namespace

std::optional<uint64_t> CheckedAdd(uint64_t a, uint64_t b) {
  uint64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) return std::nullopt;
  return sum;
}

absl::Status CheckSparseMap(absl::Span<const Extent> map, uint64_t size,
                            uint64_t max_extents) {
  if (map.size() > max_extents) {
    return absl::InvalidArgumentError(
        absl::StrCat("sparse map too long: ", map.size(),
                     " extents, the limit is ", max_extents));
  }
  uint64_t prev_offset = 0;
  uint64_t prev_end = 0;
  for (size_t i = 0; i < map.size(); ++i) {
    const Extent& e = map[i];
    std::optional<uint64_t> end = CheckedAdd(e.offset, e.length);
    if (!end.has_value() || *end > size)
      return PastSize(e.offset, e.length, size);
    if (e.offset < prev_offset) {
      return absl::InvalidArgumentError(
          absl::StrCat("sparse map out of order: extent ", i, " at offset ",
                       e.offset, " comes after one at offset ", prev_offset));
    }
    if (e.offset < prev_end) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sparse map overlap: extent ", i, " ", Range(e.offset, e.length),
          " starts before the previous one ends at ", prev_end));
    }
    prev_offset = e.offset;
    prev_end = *end;
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> BlockTracker::Next(uint64_t offset, uint64_t length) {
  std::optional<uint64_t> end = CheckedAdd(offset, length);
  if (!end.has_value() || *end > size_) return PastSize(offset, length, size_);
  if (offset < run_start_) {
    return absl::InvalidArgumentError(
        absl::StrCat("sparse map out of order: data at offset ", offset,
                     " comes after data at offset ", run_start_));
  }
  if (offset < end_) {
    return absl::InvalidArgumentError(
        absl::StrCat("sparse map overlap: data at ", Range(offset, length),
                     " overlaps data that ends at ", end_));
  }
  const uint64_t hole = offset - end_;
  if (hole > 0) run_start_ = offset;
  end_ = *end;
  data_bytes_ += length;  // <= size_: blocks are disjoint and inside it
  return hole;
}

}  // namespace chtools::archive
