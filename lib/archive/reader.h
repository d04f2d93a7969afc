// Extracting a snapshot archive from an untrusted source into a staging
// directory, checking every entry against the archive's own manifest
// (snapshot.txtpb) and the limits of manifest.h.
#ifndef CHTOOLS_LIB_ARCHIVE_READER_H_
#define CHTOOLS_LIB_ARCHIVE_READER_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/archive/manifest.h"
#include "lib/record/records.pb.h"

namespace chtools::archive {

// Reads the archive from `in_fd` (tar: ustar, pax or GNU; uncompressed, gzip
// or zstd; not closed) and writes its files into the directory
// `staging_dirfd`, keeping holes; returns the manifest's snapshot record,
// unchanged (data_dir still names the source store). The rules, in order:
//  - the first entry is snapshot.txtpb, at most limits.max_manifest_bytes,
//    holding exactly one valid snapshot that passes CheckManifest;
//  - every later entry is a regular file with a plain name, no set-id or
//    sticky bits, listed in the manifest, seen once, of exactly the listed
//    size, whose sparse map (the declared one and the data blocks actually
//    returned) is sorted, non-overlapping and inside the entry; at most
//    limits.max_entries entries; the headers of one entry take at most
//    limits.max_header_bytes of decompressed archive, its data at most its
//    size (plus read-ahead);
//  - each file's SHA-256 is the listed one; every listed file is present;
//  - memory-ranges is exactly as long as the RAM state.json describes
//    (RamBytesFromState), or absent when that is 0.
// Errors read "<source_name>: entry <n> \"<name>\": <rule>: <details>":
// InvalidArgument when the archive breaks a rule, DataLoss when its contents
// do not match its manifest or it is damaged or truncated, AlreadyExists when
// a file is already in the staging directory (errno statuses for other I/O
// errors). On any error every file this call created is removed; nothing
// that was there before is touched. Files are fsync'ed; syncing the
// directory is the caller's business.
absl::StatusOr<chtools::Snapshot> ExtractSnapshotArchive(
    int in_fd, absl::string_view source_name, int staging_dirfd,
    const ReadLimits& limits = {});

}  // namespace chtools::archive

#endif  // CHTOOLS_LIB_ARCHIVE_READER_H_
