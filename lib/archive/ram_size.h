// The guest RAM a Cloud Hypervisor v51 state.json describes: how long the
// snapshot's memory-ranges file must be (docs/ch-v51.md §4.3-4.4). Pure.
#ifndef CHTOOLS_LIB_ARCHIVE_RAM_SIZE_H_
#define CHTOOLS_LIB_ARCHIVE_RAM_SIZE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chtools::archive {

// The sum of the `length`s of the memory manager's `memory_ranges` table:
// state.json's snapshots["memory-manager"].snapshot_data.state is a JSON
// document in a string whose memory_ranges.data is [{gpa, length}, ...]. CH
// writes exactly these ranges, in order, into memory-ranges, and restoring
// from a shorter file never finishes. InvalidArgument naming the JSON path
// when the text is not JSON or the table is missing, malformed or its sum
// overflows 64 bits.
absl::StatusOr<uint64_t> RamBytesFromState(absl::string_view state_json);

}  // namespace chtools::archive

#endif  // CHTOOLS_LIB_ARCHIVE_RAM_SIZE_H_
