// The manifest of a snapshot archive: `snapshot.txtpb`, the snapshot record
// that comes first and lists every file with its size and SHA-256; the file
// names a snapshot may hold; the limits that bound what an archive may make a
// reader write. Pure: no syscalls.
#ifndef CHTOOLS_LIB_ARCHIVE_MANIFEST_H_
#define CHTOOLS_LIB_ARCHIVE_MANIFEST_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/record/records.pb.h"

namespace chtools::archive {

// Name of the first entry of every snapshot archive.
inline constexpr absl::string_view kManifestName = "snapshot.txtpb";

// The files CH v51 writes into a snapshot directory (docs/ch-v51.md §4.2)...
inline constexpr absl::string_view kConfigJson = "config.json";
inline constexpr absl::string_view kStateJson = "state.json";
inline constexpr absl::string_view kMemoryRanges = "memory-ranges";
// ...and the disks chtools keeps beside them (docs/cocoon-lessons.md §3.8):
// the COW of a direct-boot VM, the overlay and cloud-init disk of a
// cloud-image VM.
inline constexpr absl::string_view kCowRaw = "cow.raw";
inline constexpr absl::string_view kOverlayQcow2 = "overlay.qcow2";
inline constexpr absl::string_view kCidataImg = "cidata.img";

// What an archive may make a reader do. The defaults fit any snapshot chtools
// makes (a 16 TiB disk, 64 GiB of state.json+config.json is far beyond CH).
struct ReadLimits {
  // Size of snapshot.txtpb.
  uint64_t max_manifest_bytes = uint64_t{1} << 20;
  // Size of config.json and of state.json (state.json is kept in memory to
  // check memory-ranges against it).
  uint64_t max_json_bytes = uint64_t{64} << 20;
  // Apparent size of any one file.
  uint64_t max_file_bytes = uint64_t{16} << 40;
  // Sum of the apparent sizes of all files.
  uint64_t max_total_bytes = uint64_t{32} << 40;
  // Decompressed archive bytes that the headers of one entry may take (ustar
  // and pax headers, GNU long names, a GNU sparse map): libarchive holds a
  // whole sparse map in memory before returning the entry.
  uint64_t max_header_bytes = uint64_t{16} << 20;
  // Data extents of one sparse entry.
  uint64_t max_extents = uint64_t{1} << 20;
  // Entries in the archive, snapshot.txtpb included.
  int max_entries = 16;
};

// True for the six names above.
bool IsSnapshotFileName(absl::string_view name);

// The text of snapshot.txtpb: a chtools.Records stream holding `snapshot`
// alone, with the two header comment lines every records file starts with.
std::string FormatManifest(const chtools::Snapshot& snapshot);

// Parses snapshot.txtpb: a Records stream with exactly one snapshot and
// nothing else, valid per record::ValidateSnapshot. InvalidArgument; parse
// errors read "<source_name>:LINE:COL: ...".
absl::StatusOr<chtools::Snapshot> ParseManifest(absl::string_view text,
                                                absl::string_view source_name);

// The archive rules on a snapshot's file list: every name is one of the six
// snapshot files and appears once; config.json and state.json are present;
// every file has a SHA-256; sizes are within `limits` (per file, per JSON
// file, in total; sums overflow-checked). InvalidArgument naming the field
// ("files[2].name: ...") and the rule.
absl::Status CheckManifest(const chtools::Snapshot& snapshot,
                           const ReadLimits& limits);

}  // namespace chtools::archive

#endif  // CHTOOLS_LIB_ARCHIVE_MANIFEST_H_
