// Small file-system helpers of ch-launch; errors name the path.
#ifndef CHTOOLS_TOOLS_CH_LAUNCH_FILES_H_
#define CHTOOLS_TOOLS_CH_LAUNCH_FILES_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ch_launch {

// mkdir -p with `mode` for the directories it creates.
absl::Status MakeDirs(const std::string& path, mode_t mode);
// rm -rf; a missing path is fine.
absl::Status RemoveTree(const std::string& path);
// unlink; a missing file is fine.
absl::Status RemoveFile(const std::string& path);
// Creates or truncates `path` with `mode` and writes `data`; fsync'ed when
// `sync` (runtime files such as ch.pid die with the process anyway).
absl::Status WriteFile(const std::string& path, absl::string_view data, mode_t mode,
                       bool sync = true);
// A regular, non-empty file? FailedPrecondition naming `what` and the path.
absl::Status CheckInputFile(absl::string_view what, const std::string& path);
// The path of program `name`: PATH first, then /usr/sbin and /sbin (mkfs.ext4
// lives there and tests run with a PATH without them). NotFound if absent.
absl::StatusOr<std::string> FindProgram(const std::string& name);

}  // namespace ch_launch

#endif  // CHTOOLS_TOOLS_CH_LAUNCH_FILES_H_
