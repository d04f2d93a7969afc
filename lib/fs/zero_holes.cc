#include "lib/fs/zero_holes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/fs/extents.h"
#include "lib/hash/sha256.h"

namespace chtools::fs {
namespace {

constexpr uint64_t kMinBlock = 512;
constexpr uint64_t kMaxBlock = uint64_t{16} << 20;
// Reads go in chunks of this size (or of one block if larger), aligned to
// multiples of it in the file, so that no aligned block straddles two reads.
constexpr uint64_t kChunk = uint64_t{1} << 20;

alignas(64) const char kZeroPage[4096] = {};

// glibc's memcmp is vectorized whatever this file is compiled with, and it
// stops at the first non-zero byte, which in guest RAM comes early.
bool IsZero(const char* p, uint64_t n) {
  while (n > 0) {
    const size_t k =
        static_cast<size_t>(std::min<uint64_t>(n, sizeof(kZeroPage)));
    if (std::memcmp(p, kZeroPage, k) != 0) return false;
    p += k;
    n -= k;
  }
  return true;
}

absl::Status ReadFully(int fd, char* buf, uint64_t len, uint64_t offset,
                       absl::string_view name) {
  uint64_t done = 0;
  while (done < len) {
    ssize_t n = RetryEintr([&] {
      return ::pread(fd, buf + done, static_cast<size_t>(len - done),
                     static_cast<off_t>(offset + done));
    });
    if (n < 0) return ErrnoError(errno, "read", name);
    if (n == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "read ", name, ": the file shrank (EOF at ", offset + done, ")"));
    }
    done += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

// Collects adjacent zero blocks into one range, punched when the run ends.
class Puncher {
 public:
  Puncher(int fd, absl::string_view name) : fd_(fd), name_(name) {}

  absl::Status Add(uint64_t offset, uint64_t length) {
    if (length_ > 0 && offset_ + length_ == offset) {
      length_ += length;
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(Flush());
    offset_ = offset;
    length_ = length;
    return absl::OkStatus();
  }

  absl::Status Flush() {
    if (length_ == 0) return absl::OkStatus();
    if (RetryEintr([&] {
          return ::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                             static_cast<off_t>(offset_),
                             static_cast<off_t>(length_));
        }) != 0) {
      return ErrnoError(errno, "fallocate PUNCH_HOLE", name_);
    }
    punched_bytes_ += length_;
    ++calls_;
    length_ = 0;
    return absl::OkStatus();
  }

  uint64_t punched_bytes() const { return punched_bytes_; }
  uint64_t calls() const { return calls_; }

 private:
  const int fd_;
  const absl::string_view name_;
  uint64_t offset_ = 0, length_ = 0;
  uint64_t punched_bytes_ = 0, calls_ = 0;
};

}  // namespace

absl::StatusOr<ZeroHoleStats> PunchZerosAndHash(int fd, absl::string_view name,
                                                uint64_t block) {
  if (block < kMinBlock || block > kMaxBlock || (block & (block - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("punch zeros in ", name, ": block size ", block,
                     " is not a power of two from 512 to 16 MiB"));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoError(errno, "fstat", name);
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("punch zeros in ", name, ": not a regular file"));
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  ASSIGN_OR_RETURN(std::vector<Extent> extents, DataExtents(fd, name, size));
  // Only a hint: readahead may grow.
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

  ZeroHoleStats stats;
  stats.size = size;
  const uint64_t chunk = std::max(kChunk, block);
  auto buffer = std::make_unique<char[]>(static_cast<size_t>(chunk));
  // Blocks past this end are cut by EOF and stay as they are.
  const uint64_t blocks_end = size - size % block;
  hash::Sha256 sha;
  Puncher puncher(fd, name);
  uint64_t hashed = 0;
  for (const Extent& e : extents) {
    sha.UpdateZeros(e.offset - hashed);
    stats.data_bytes_before += e.length;
    uint64_t off = e.offset;
    while (off < e.end()) {
      const uint64_t end = std::min(e.end(), (off / chunk + 1) * chunk);
      char* buf = buffer.get();
      RETURN_IF_ERROR(ReadFully(fd, buf, end - off, off, name));
      sha.Update(absl::string_view(buf, static_cast<size_t>(end - off)));
      for (uint64_t b = (off + block - 1) & ~(block - 1);
           b + block <= end && b + block <= blocks_end; b += block) {
        if (IsZero(buf + (b - off), block)) {
          RETURN_IF_ERROR(puncher.Add(b, block));
        }
      }
      off = end;
    }
    hashed = e.end();
  }
  RETURN_IF_ERROR(puncher.Flush());
  sha.UpdateZeros(size - hashed);
  stats.sha256 = sha.HexDigest();
  stats.punched_bytes = puncher.punched_bytes();
  stats.punch_calls = puncher.calls();
  ASSIGN_OR_RETURN(stats.data_bytes_after, DataBytes(fd, name, size));
  return stats;
}

}  // namespace chtools::fs
