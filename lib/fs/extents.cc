#include "lib/fs/extents.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"

namespace chtools::fs {

absl::StatusOr<std::vector<Extent>> DataExtents(int fd, absl::string_view name,
                                                uint64_t size) {
  if (size > static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": size ", size, " does not fit in off_t"));
  }
  const off_t saved = ::lseek(fd, 0, SEEK_CUR);
  if (saved < 0) return ErrnoError(errno, "lseek", name);
  absl::Cleanup restore = [fd, saved] { ::lseek(fd, saved, SEEK_SET); };
  std::vector<Extent> extents;
  uint64_t pos = 0;
  while (pos < size) {
    off_t data = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0) {
      // ENXIO: only a hole is left before EOF (or the file shrank under us).
      if (errno == ENXIO) break;
      // No SEEK_DATA here (very old filesystems): all of it counts as data.
      if (errno == EINVAL && pos == 0) return std::vector<Extent>{{0, size}};
      return ErrnoError(errno, "lseek SEEK_DATA", name);
    }
    if (static_cast<uint64_t>(data) >= size) break;
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return ErrnoError(errno, "lseek SEEK_HOLE", name);
    // There is always a virtual hole at EOF, so a file that grew past `size`
    // is cut there.
    const uint64_t end = std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    if (end <= static_cast<uint64_t>(data)) {
      return absl::InternalError(absl::StrCat("lseek SEEK_HOLE ", name,
                                              ": hole at ", hole,
                                              " before data at ", data));
    }
    extents.push_back(
        {static_cast<uint64_t>(data), end - static_cast<uint64_t>(data)});
    pos = end;
  }
  return extents;
}

absl::StatusOr<uint64_t> DataBytes(int fd, absl::string_view name,
                                   uint64_t size) {
  absl::StatusOr<std::vector<Extent>> extents = DataExtents(fd, name, size);
  if (!extents.ok()) return extents.status();
  uint64_t total = 0;
  for (const Extent& e : *extents) total += e.length;
  return total;
}

}  // namespace chtools::fs
