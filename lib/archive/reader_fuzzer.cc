// Fuzz target: the snapshot archive reader (reader.h) on arbitrary bytes as
// a tar stream (any compression libarchive detects), with small limits so
// one input stays fast. Never crashes, and the contract of reader.h holds: on
// any error the staging directory is left exactly as it was (empty).
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "lib/archive/reader.h"
#include "lib/testing/fuzz/check.h"

namespace {

int staging_fd = -1;

std::vector<std::string> Names(int dirfd) {
  std::vector<std::string> names;
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  FUZZ_CHECK(fd >= 0, "open staging dir");
  DIR* d = ::fdopendir(fd);
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  return names;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir =
      std::string(tmp != nullptr ? tmp : "/tmp") + "/reader_fuzzer.XXXXXX";
  FUZZ_CHECK(::mkdtemp(dir.data()) != nullptr, "mkdtemp ", dir);
  staging_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  FUZZ_CHECK(staging_fd >= 0, "open ", dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int in = ::memfd_create("archive", MFD_CLOEXEC);
  FUZZ_CHECK(in >= 0, "memfd_create");
  size_t off = 0;
  while (off < size) {
    ssize_t n = ::write(in, data + off, size - off);
    FUZZ_CHECK(n > 0, "write memfd");
    off += static_cast<size_t>(n);
  }
  FUZZ_CHECK(::lseek(in, 0, SEEK_SET) == 0, "lseek");
  chtools::archive::ReadLimits limits;
  limits.max_manifest_bytes = 64 << 10;
  limits.max_json_bytes = 1 << 20;
  limits.max_file_bytes = 4 << 20;
  limits.max_total_bytes = 8 << 20;
  limits.max_header_bytes = 1 << 20;
  limits.max_extents = 4096;
  absl::StatusOr<chtools::Snapshot> s =
      chtools::archive::ExtractSnapshotArchive(in, "<fuzz>", staging_fd,
                                               limits);
  ::close(in);
  std::vector<std::string> left = Names(staging_fd);
  if (!s.ok()) {
    FUZZ_CHECK(left.empty(), "a failed extraction left ", left.size(),
               " files (first: ", left.empty() ? "" : left[0],
               "): ", s.status().ToString());
    FUZZ_CHECK(absl::StartsWith(s.status().message(), "<fuzz>"),
               "error does not name the source: ", s.status().ToString());
    return 0;
  }
  for (const std::string& n : left) {
    FUZZ_CHECK(::unlinkat(staging_fd, n.c_str(), 0) == 0, "unlink ", n);
  }
  return 0;
}
