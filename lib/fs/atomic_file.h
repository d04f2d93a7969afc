// Atomic file replacement and the fsyncs that make it durable.
#ifndef CHTOOLS_LIB_FS_ATOMIC_FILE_H_
#define CHTOOLS_LIB_FS_ATOMIC_FILE_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chtools::fs {

// The prefix of the temp files WriteFileAtomically makes for `path`:
// "<dir>/.<basename>.tmp-" (a random suffix follows). Leftovers of a crash
// match it.
std::string TempPrefixFor(absl::string_view path);

// Replaces `path` with `contents` so that readers and a crash at any point see
// either the old file or the new one, never a mix: writes a temp file in the
// same directory, fsyncs it, renames it over `path`, fsyncs the directory. The
// temp file is removed on failure. Errors name the failing call and path.
// Without `sync` the fsyncs are skipped: still atomic for readers, not
// durable (for runtime files such as ch.pid that die with the process).
absl::Status WriteFileAtomically(absl::string_view path,
                                 absl::string_view contents, mode_t mode = 0644,
                                 bool sync = true);

// fsync(2) on a directory, making renames/unlinks/creations in it durable.
absl::Status FsyncDir(absl::string_view dir);

}  // namespace chtools::fs

#endif  // CHTOOLS_LIB_FS_ATOMIC_FILE_H_
