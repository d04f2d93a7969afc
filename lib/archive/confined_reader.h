// ExtractSnapshotArchive (reader.h) in a forked child confined by a seccomp
// policy (lib/sandbox): the code that parses a hostile archive can only read
// its input, create new files in the staging directory and report back.
#ifndef CHTOOLS_LIB_ARCHIVE_CONFINED_READER_H_
#define CHTOOLS_LIB_ARCHIVE_CONFINED_READER_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/archive/manifest.h"
#include "lib/record/records.pb.h"

namespace chtools::archive {

// Same contract as ExtractSnapshotArchive, run in a child process that may
// only: read `in_fd`; create files in `staging_dirfd` (openat on that fd
// with O_CREAT|O_EXCL|O_NOFOLLOW), write, resize, sync and remove them; and
// write its result to a pipe to this process (its stdout is /dev/null, its
// other fds but stdin and stderr are closed). Everything else (opening
// other files, sockets, exec, signals to others, executable memory) kills
// it with SIGSYS. x86_64 only. The caller must be single-threaded (fork).
// Extra errors: Internal when the child dies without a result (killed by a
// signal, e.g. SIGSYS, or SIGINT from the terminal): the files it had made
// may then remain in the staging directory, which must therefore be a fresh
// private one that the caller removes on failure.
absl::StatusOr<chtools::Snapshot> ExtractSnapshotArchiveConfined(
    int in_fd, absl::string_view source_name, int staging_dirfd,
    const ReadLimits& limits = {});

}  // namespace chtools::archive

#endif  // CHTOOLS_LIB_ARCHIVE_CONFINED_READER_H_
