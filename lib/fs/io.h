// Whole-file and whole-fd reads and writes; every error names the file.
#ifndef CHTOOLS_LIB_FS_IO_H_
#define CHTOOLS_LIB_FS_IO_H_

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chtools::fs {

// Writes all of `data` to `fd` (EINTR and short writes handled). Errors name
// `name` ("write <name>: ...").
absl::Status WriteAll(int fd, absl::string_view data,
                      absl::string_view name = "<fd>");

// Reads `fd` to EOF (EINTR handled). OutOfRange once more than `limit` bytes
// arrive; errors name `name`.
absl::StatusOr<std::string> ReadAll(int fd, absl::string_view name,
                                    size_t limit = size_t{1} << 32);

// The whole contents of the file `path`, at most `limit` bytes (OutOfRange
// beyond). NotFound (ENOENT) if it does not exist.
absl::StatusOr<std::string> ReadFileToString(absl::string_view path,
                                             size_t limit = size_t{1} << 32);

// Same, relative to the directory fd `dirfd` (openat); errors name
// `path_for_errors`.
absl::StatusOr<std::string> ReadFileAt(int dirfd, absl::string_view name,
                                       absl::string_view path_for_errors,
                                       size_t limit = size_t{1} << 32);

}  // namespace chtools::fs

#endif  // CHTOOLS_LIB_FS_IO_H_
