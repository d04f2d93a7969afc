// zero_holes_bench: throughput of PunchZerosAndHash on a RAM-like file.
//
// Writes DIR/zero_holes_bench.ram densely (zeros included, as CH writes
// guest RAM): SIZE_MIB MiB of which one eighth is non-zero, either as
// scattered 4 KiB pages ("scattered") or as 256 KiB at the start of every
// 2 MiB ("clustered"); fsyncs it, optionally drops it from the page cache
// ("cold"), runs PunchZerosAndHash and prints the time and MB/s of logical
// bytes. Removes the file at the end. Not a test: numbers depend on the
// machine.
//
// Usage: zero_holes_bench DIR [SIZE_MIB=1024] [scattered|clustered] [cold]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/extents.h"
#include "lib/fs/zero_holes.h"
#include "lib/hash/sha256.h"

namespace {

constexpr uint64_t kMiB = 1 << 20;

uint64_t Next(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void FillPage(char* p, uint64_t& x) {
  for (int i = 0; i < 4096; i += 8) {
    uint64_t v = Next(x) | 1;
    std::memcpy(p + i, &v, 8);
  }
}

int Fail(const char* what) {
  std::fprintf(stderr, "zero_holes_bench: %s: %s\n", what,
               std::strerror(errno));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: zero_holes_bench DIR [SIZE_MIB] [scattered|clustered]"
                 " [cold]\n");
    return 2;
  }
  const std::string path = std::string(argv[1]) + "/zero_holes_bench.ram";
  const uint64_t size =
      (argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1024) * kMiB;
  const bool clustered = argc > 3 && std::string(argv[3]) == "clustered";
  const bool cold = argc > 4 && std::string(argv[4]) == "cold";

  chtools::UniqueFd fd(
      ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return Fail(path.c_str());
  std::string chunk(kMiB, '\0');
  uint64_t x = 42, nonzero = 0;
  for (uint64_t off = 0; off < size; off += kMiB) {
    std::memset(chunk.data(), 0, chunk.size());
    for (uint64_t page = 0; page < kMiB / 4096; ++page) {
      const uint64_t abs = off + page * 4096;
      const bool data =
          clustered ? (abs % (2 * kMiB)) < 256 * 1024 : (Next(x) & 7) == 0;
      if (data) {
        FillPage(chunk.data() + page * 4096, x);
        nonzero += 4096;
      }
    }
    if (::pwrite(fd.get(), chunk.data(), chunk.size(), off) !=
        static_cast<ssize_t>(chunk.size())) {
      return Fail("pwrite");
    }
  }
  if (::fsync(fd.get()) != 0) return Fail("fsync");
  if (cold && ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED) != 0) {
    return Fail("posix_fadvise");
  }

  // Warm runs first time a plain read+hash pass (Sha256Fd), for scale.
  absl::Duration read_hash = absl::ZeroDuration();
  if (!cold) {
    const absl::Time t = absl::Now();
    if (!chtools::hash::Sha256Fd(fd.get(), path).ok()) return Fail("hash");
    read_hash = absl::Now() - t;
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<chtools::fs::ZeroHoleStats> stats =
      chtools::fs::PunchZerosAndHash(fd.get(), path);
  const absl::Duration took = absl::Now() - start;
  // What data_bytes_after costs: one more SEEK_DATA/SEEK_HOLE walk.
  const absl::Time walk_start = absl::Now();
  (void)chtools::fs::DataBytes(fd.get(), path, size);
  const absl::Duration walk = absl::Now() - walk_start;
  ::unlink(path.c_str());
  if (!stats.ok()) {
    std::fprintf(stderr, "zero_holes_bench: %s\n",
                 stats.status().ToString().c_str());
    return 1;
  }
  struct stat st;
  ::fstat(fd.get(), &st);
  const double secs = absl::ToDoubleSeconds(took);
  std::printf(
      "%s %s %s: %llu MiB (%llu MiB non-zero) in %.3f s = %.0f MB/s "
      "(%.0f MiB/s); data %llu -> %llu MiB, allocated %llu MiB, %llu punch "
      "calls\n",
      argv[1], clustered ? "clustered" : "scattered", cold ? "cold" : "warm",
      static_cast<unsigned long long>(size / kMiB),
      static_cast<unsigned long long>(nonzero / kMiB), secs, size / secs / 1e6,
      size / secs / kMiB,
      static_cast<unsigned long long>(stats->data_bytes_before / kMiB),
      static_cast<unsigned long long>(stats->data_bytes_after / kMiB),
      static_cast<unsigned long long>(st.st_blocks * 512 / kMiB),
      static_cast<unsigned long long>(stats->punch_calls));

  std::printf("  (of which one SEEK_DATA/SEEK_HOLE walk: ~%.1f ms)\n",
              absl::ToDoubleMilliseconds(walk));
  if (!cold) {
    std::printf(
        "  (read+hash alone, no zero check or punch: %.3f s = %.0f MB/s)\n",
        absl::ToDoubleSeconds(read_hash),
        size / absl::ToDoubleSeconds(read_hash) / 1e6);
  }
  // For scale: SHA-256 alone over the non-zero part, from memory.
  std::string buf(nonzero, 'x');
  chtools::hash::Sha256 h;
  const absl::Time hstart = absl::Now();
  h.Update(buf);
  h.HexDigest();
  std::printf("  (SHA-256 alone of %llu MiB in memory: %.0f MB/s)\n",
              static_cast<unsigned long long>(nonzero / kMiB),
              nonzero / absl::ToDoubleSeconds(absl::Now() - hstart) / 1e6);
  return 0;
}
