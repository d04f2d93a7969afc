// Snapshot directories for the archive tests: files written piece by piece
// (everything else a hole), config.json and state.json as the CH simulator
// wrote them, and the record that lists the files.
#ifndef CHTOOLS_LIB_ARCHIVE_TEST_SNAPSHOT_H_
#define CHTOOLS_LIB_ARCHIVE_TEST_SNAPSHOT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/record/records.pb.h"

namespace chtools::archive::testing {

struct TestFile {
  std::string name;
  uint64_t size = 0;
  // Data at offsets, sorted and disjoint; the rest of the file is holes.
  std::vector<std::pair<uint64_t, std::string>> pieces;
};

// `n` bytes of recognisable, non-zero data.
std::string Pattern(absl::string_view seed, size_t n);

// A direct-boot snapshot of a 512 MiB VM: config.json, state.json (the
// simulator's), memory-ranges (512 MiB, three data pieces), cow.raw (64 MiB,
// two pieces).
std::vector<TestFile> DirectBootFiles();
// A cloud-image snapshot of a 1 GiB VM: config.json, state.json,
// memory-ranges (1 GiB), overlay.qcow2, cidata.img.
std::vector<TestFile> CloudImageFiles();

// Writes `files` into the existing directory `dir` (holes left unwritten)
// and returns a valid snapshot record listing them, in order, with their
// sizes and SHA-256s.
absl::StatusOr<chtools::Snapshot> WriteSnapshotDir(
    const std::string& dir, const std::vector<TestFile>& files,
    bool direct_boot = true);

// OK if every file `snapshot` lists is in `dir` with its size and SHA-256,
// and `dir` holds nothing else.
absl::Status CheckSnapshotDir(const std::string& dir,
                              const chtools::Snapshot& snapshot);

// The bytes allocated to `path` (st_blocks * 512).
absl::StatusOr<uint64_t> AllocatedBytes(const std::string& path);

// The names in `dir`, sorted, without "." and "..".
std::vector<std::string> ListDir(const std::string& dir);

}  // namespace chtools::archive::testing

#endif  // CHTOOLS_LIB_ARCHIVE_TEST_SNAPSHOT_H_
