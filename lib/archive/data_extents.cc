#include "lib/archive/data_extents.h"

#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"

namespace chtools::archive {

absl::StatusOr<std::vector<Extent>> DataExtents(int fd, uint64_t size,
                                                absl::string_view name) {
  std::vector<Extent> out;
  const off_t end = static_cast<off_t>(size);
  off_t pos = 0;
  while (pos < end) {
    off_t data = ::lseek(fd, pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole is left
      if (errno == EINVAL && pos == 0) {
        out.push_back({0, size});  // no SEEK_DATA here: all data
        return out;
      }
      return ErrnoError(errno, "lseek SEEK_DATA", name);
    }
    if (data >= end) break;
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return ErrnoError(errno, "lseek SEEK_HOLE", name);
    if (hole <= data) {  // SEEK_HOLE must move past data it just found
      return absl::InternalError(
          absl::StrCat("lseek SEEK_HOLE ", name, ": no progress at ", data));
    }
    if (hole > end) hole = end;
    out.push_back(
        {static_cast<uint64_t>(data), static_cast<uint64_t>(hole - data)});
    pos = hole;
  }
  return out;
}

}  // namespace chtools::archive
