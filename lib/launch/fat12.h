// A 1 MiB FAT12 image holding a few small files with VFAT long names, laid
// out as cocoon's NoCloud seed disk (docs/cocoon-lessons.md §4.5): built in
// memory, no mkfs.fat or mtools needed.
#ifndef CHTOOLS_LIB_LAUNCH_FAT12_H_
#define CHTOOLS_LIB_LAUNCH_FAT12_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"

namespace chtools::launch {

inline constexpr int kFat12ImageBytes = 2048 * 512;

struct Fat12File {
  std::string name;  // long name, ASCII, no slash
  std::string data;
};

// Returns the image bytes (exactly kFat12ImageBytes). `label` is upper-cased
// and space padded to 11; `serial` is the volume id; `mtime` (local civil
// time) stamps every entry. Files are stored in byte order of their names.
// ResourceExhausted when the files do not fit ("fat12: not enough space for
// <name>" / "fat12: root directory full"); InvalidArgument for a bad name.
absl::StatusOr<std::string> BuildFat12Image(std::vector<Fat12File> files,
                                            absl::string_view label,
                                            uint32_t serial,
                                            absl::CivilSecond mtime);

}  // namespace chtools::launch

#endif  // CHTOOLS_LIB_LAUNCH_FAT12_H_
