#include "lib/fs/sparse_test_util.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "gtest/gtest.h"
#include "lib/hash/sha256.h"

namespace chtools::fs {

void PrintTo(const Extent& e, std::ostream* os) {
  *os << "{" << e.offset << ", " << e.length << "}";
}

}  // namespace chtools::fs

namespace chtools::testing {

std::string Pattern(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (size_t i = 0; i < n; i += 8) {
    // splitmix64
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    z |= 1;  // never a zero word, so never a zero block
    std::memcpy(out.data() + i, &z, std::min<size_t>(8, n - i));
  }
  return out;
}

UniqueFd CreateFile(const std::string& path) {
  UniqueFd fd(
      ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  EXPECT_TRUE(fd.valid()) << "open " << path << ": " << std::strerror(errno);
  return fd;
}

UniqueFd CreateMemfd(const char* name) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
  EXPECT_TRUE(fd.valid()) << "memfd_create: " << std::strerror(errno);
  return fd;
}

void WriteAt(int fd, uint64_t offset, absl::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done,
                         static_cast<off_t>(offset + done));
    if (n <= 0) {
      ADD_FAILURE() << "pwrite at " << offset + done << ": "
                    << std::strerror(errno);
      return;
    }
    done += static_cast<size_t>(n);
  }
}

uint64_t SizeOf(int fd) {
  struct stat st;
  EXPECT_EQ(::fstat(fd, &st), 0) << std::strerror(errno);
  return static_cast<uint64_t>(st.st_size);
}

uint64_t AllocatedBytes(int fd) {
  struct stat st;
  EXPECT_EQ(::fstat(fd, &st), 0) << std::strerror(errno);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

std::vector<fs::Extent> ExtentsOf(int fd) {
  absl::StatusOr<std::vector<fs::Extent>> e =
      fs::DataExtents(fd, "<test>", SizeOf(fd));
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? *e : std::vector<fs::Extent>{};
}

std::string Sha256Of(int fd) {
  absl::StatusOr<std::string> h = hash::Sha256Fd(fd, "<test>");
  EXPECT_TRUE(h.ok()) << h.status();
  return h.ok() ? *h : "";
}

std::string ReadAt(int fd, uint64_t offset, size_t n) {
  std::string out(n, '\0');
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out.data() + done, n - done,
                        static_cast<off_t>(offset + done));
    if (r <= 0) {
      ADD_FAILURE() << "pread at " << offset + done << ": "
                    << (r == 0 ? "EOF" : std::strerror(errno));
      out.resize(done);
      break;
    }
    done += static_cast<size_t>(r);
  }
  return out;
}

}  // namespace chtools::testing
