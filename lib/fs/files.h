// Directory and file helpers of the tools (mkdir -p, rm -rf, unlink,
// checks of input files, finding helper programs); errors name the path.
#ifndef CHTOOLS_LIB_FS_FILES_H_
#define CHTOOLS_LIB_FS_FILES_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chtools::fs {

// mkdir -p with `mode` for the directories it creates.
absl::Status MakeDirs(const std::string& path, mode_t mode);
// mkdir of one new directory: AlreadyExists if anything is at `path` (a
// planted dir or symlink is never reused).
absl::Status MakeNewDir(const std::string& path, mode_t mode);
// rm -rf; a missing path is fine.
absl::Status RemoveTree(const std::string& path);
// unlink; a missing file is fine.
absl::Status RemoveFile(const std::string& path);
// Creates `path` exclusively (O_EXCL, never through a symlink) with `mode`
// and writes `data`; fsync'ed when `sync`. AlreadyExists if it exists.
absl::Status WriteNewFile(const std::string& path, absl::string_view data,
                          mode_t mode, bool sync = true);
// A regular, non-empty file? FailedPrecondition naming `what` and the path.
absl::Status CheckInputFile(absl::string_view what, const std::string& path);
// The path of program `name`: PATH first, then /usr/sbin and /sbin (mkfs.ext4
// lives there and tests run with a PATH without them). NotFound if absent.
absl::StatusOr<std::string> FindProgram(const std::string& name);

}  // namespace chtools::fs

#endif  // CHTOOLS_LIB_FS_FILES_H_
