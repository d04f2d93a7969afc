// Owners of libarchive handles (unique_ptr with deleters) and the one way a
// libarchive failure becomes a Status: the call, the entry it concerns and
// archive_error_string().
#ifndef CHTOOLS_LIB_ARCHIVE_HANDLES_H_
#define CHTOOLS_LIB_ARCHIVE_HANDLES_H_

#include <archive.h>
#include <archive_entry.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace chtools::archive {

struct ArchiveReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
// Marks the archive failed first, so that freeing an archive that was not
// closed explicitly never writes an end-of-archive trailer after an error
// (archive_write_free would otherwise close it "cleanly").
struct ArchiveWriteDeleter {
  void operator()(struct archive* a) const {
    archive_write_fail(a);
    archive_write_free(a);
  }
};
struct ArchiveEntryDeleter {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

using ArchiveReadPtr = std::unique_ptr<struct archive, ArchiveReadDeleter>;
using ArchiveWritePtr = std::unique_ptr<struct archive, ArchiveWriteDeleter>;
using ArchiveEntryPtr =
    std::unique_ptr<struct archive_entry, ArchiveEntryDeleter>;

// A status with the message "<call> \"<entry>\": <libarchive's
// error string>" ("<call>: ..." when `entry` is empty). Its code follows
// archive_errno() when that is an I/O errno (ENOSPC, EIO, EPIPE, ...),
// else `code`.
absl::Status ArchiveError(struct archive* a, absl::StatusCode code,
                          absl::string_view call, absl::string_view entry);

}  // namespace chtools::archive

#endif  // CHTOOLS_LIB_ARCHIVE_HANDLES_H_
