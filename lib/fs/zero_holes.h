// PunchZerosAndHash: makes a densely written file (Cloud Hypervisor writes
// guest RAM byte for byte, zeros included) sparse, and hashes it on the way.
#ifndef CHTOOLS_LIB_FS_ZERO_HOLES_H_
#define CHTOOLS_LIB_FS_ZERO_HOLES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chtools::fs {

struct ZeroHoleStats {
  std::string sha256;  // of the whole logical content, lowercase hex
  uint64_t size = 0;   // logical size (unchanged)
  uint64_t data_bytes_before = 0;  // bytes in data extents before the pass
  uint64_t data_bytes_after = 0;   // and after it, as the filesystem reports
  uint64_t punched_bytes = 0;      // bytes of zero blocks turned into holes
  uint64_t punch_calls = 0;        // fallocate calls (adjacent blocks merged)
};

// In one pass over the data extents of the regular file `fd` (open read-
// write), turns every all-zero `block`-aligned block that lies wholly inside
// a data extent into a hole (fallocate PUNCH_HOLE|KEEP_SIZE), and computes
// the SHA-256 of the whole content (holes hash as zeros). The contents and
// size do not change; a tail shorter than `block` is never punched, and a
// second pass punches nothing. `block` must be a power of two from 512 to
// 16 MiB (InvalidArgument otherwise); below the filesystem's block size a
// punch only zeroes. Unimplemented where the filesystem cannot punch holes;
// FailedPrecondition if the file shrinks meanwhile. Errors name `name`.
absl::StatusOr<ZeroHoleStats> PunchZerosAndHash(int fd, absl::string_view name,
                                                uint64_t block = 4096);

}  // namespace chtools::fs

#endif  // CHTOOLS_LIB_FS_ZERO_HOLES_H_
