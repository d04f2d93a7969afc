// The tar stream inside an untrusted archive file, read under byte budgets.
//
// Two libarchive readers: the first only decompresses (raw format; no
// filter, gzip or zstd, one layer at most), the second parses tar (ustar,
// pax, GNU) from the decompressed bytes, pulling them through a counter.
// Each phase of reading (the headers of one entry, the data of one entry)
// gets a budget of decompressed bytes that is enforced while libarchive is
// still inside its call: archive_read_next_header parses a whole GNU sparse
// map into memory before it returns, so a check after the call would be too
// late for a compressed map of millions of extents.
#ifndef CHTOOLS_LIB_ARCHIVE_TAR_SOURCE_H_
#define CHTOOLS_LIB_ARCHIVE_TAR_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/archive/handles.h"

namespace chtools::archive {

class TarSource {
 public:
  // Starts reading `fd` (not owned, read from its current offset). The
  // first phase, `first_phase` with `first_budget` bytes, covers the
  // format detection and the first header. InvalidArgument if the data is
  // empty, not tar, or compressed other than once with gzip or zstd.
  static absl::StatusOr<std::unique_ptr<TarSource>> Open(
      int fd, uint64_t first_budget, absl::string_view first_phase);

  TarSource(const TarSource&) = delete;
  TarSource& operator=(const TarSource&) = delete;

  // The tar reader: archive_read_next_header, archive_read_data_block.
  struct archive* tar() const {
    return inner_.get();
  }

  // Starts a phase: at most `budget` more decompressed bytes may be pulled,
  // else reads fail with "<phase>: more than <budget> bytes".
  void StartPhase(uint64_t budget, absl::string_view phase);

  // Decompressed bytes pulled so far.
  uint64_t pulled() const { return pulled_; }

  // Why the last call on tar() failed: the exceeded budget or the
  // decompression error if that was it (InvalidArgument / DataLoss), else
  // libarchive's message for `call` on `entry` with `code`.
  absl::Status Error(absl::string_view call, absl::string_view entry,
                     absl::StatusCode code) const;

 private:
  TarSource() = default;
  static la_ssize_t Pull(struct archive* inner, void* self,
                         const void** buffer);

  ArchiveReadPtr outer_;
  ArchiveReadPtr inner_;
  std::vector<char> buffer_;
  uint64_t pulled_ = 0;
  uint64_t phase_start_ = 0;
  uint64_t budget_ = 0;
  std::string phase_;
  absl::Status failure_;
};

}  // namespace chtools::archive

#endif  // CHTOOLS_LIB_ARCHIVE_TAR_SOURCE_H_
