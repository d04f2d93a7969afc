// Writing a snapshot archive: a POSIX pax tar whose first entry is
// snapshot.txtpb (the snapshot record) followed by the snapshot's files, holes
// kept as GNU 1.0 sparse entries (docs/cocoon-lessons.md §4.6 for cocoon's
// format, which this replaces).
#ifndef CHTOOLS_LIB_ARCHIVE_WRITER_H_
#define CHTOOLS_LIB_ARCHIVE_WRITER_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "lib/record/records.pb.h"

namespace chtools::archive {

enum class Compression {
  kNone,
  // zstd through libarchive's built-in libzstd (never an external program).
  kZstd,
};

struct WriteOptions {
  Compression compression = Compression::kNone;
  // Called after each chunk of file data with the data bytes (holes not
  // counted) written so far and in all; may be empty.
  std::function<void(uint64_t bytes_done, uint64_t bytes_total)> progress;
  // Hash each file while it is streamed and compare with the record. Costs
  // a pass over the holes too (~1 GB/s); the store's files were hashed when
  // the snapshot was made and are hashed again by every reader, so exports
  // from the store turn it off.
  bool verify_sha256 = true;
};

// Writes to `out_fd` an archive of `record` and of its files, read from the
// directory `dirfd` (openat, O_NOFOLLOW) in the record's order. Entries: mode
// 0600, uid/gid 0, mtime = record.created_at, plain names; a file with holes
// becomes a sparse entry holding only its data extents. Does not close
// `out_fd`. Errors: InvalidArgument if the record is invalid or breaks the
// archive rules (manifest.h: CheckManifest with default limits), open errors
// naming the file, FailedPrecondition for a file that is not regular,
// DataLoss if a file's size or SHA-256 differs from the record, Unimplemented
// for kZstd when libarchive lacks libzstd, and libarchive errors naming the
// entry. After an error the output is incomplete: discard it.
absl::Status WriteSnapshotArchive(int out_fd, const chtools::Snapshot& record,
                                  int dirfd, const WriteOptions& opts = {});

}  // namespace chtools::archive

#endif  // CHTOOLS_LIB_ARCHIVE_WRITER_H_
