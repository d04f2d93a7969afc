#include "lib/archive/test_snapshot.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"
#include "lib/hash/sha256.h"
#include "lib/testing/golden.h"

namespace chtools::archive::testing {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

std::string SimFile(const char* name) {
  auto text = chtools::testing::ReadFile(chtools::testing::RunfilePath(
      absl::StrCat("testdata/archive/sim/", name)));
  return text.ok() ? *text : std::string("missing ") + name;
}

TestFile Dense(std::string name, std::string data) {
  const uint64_t size = data.size();
  return TestFile{std::move(name), size, {{0, std::move(data)}}};
}

}  // namespace

std::string Pattern(absl::string_view seed, size_t n) {
  std::string out;
  for (int i = 0; out.size() < n; ++i) {
    hash::Sha256 h;
    h.Update(absl::StrCat(seed, "-", i));
    out += h.HexDigest();
  }
  out.resize(n);
  return out;
}

std::vector<TestFile> DirectBootFiles() {
  return {
      Dense("config.json", SimFile("direct-config.json")),
      Dense("state.json", SimFile("direct-state.json")),
      {"memory-ranges",
       512 * kMiB,
       {{0, Pattern("ram0", 4096)},
        {kMiB, Pattern("ram1", 8192)},
        {512 * kMiB - 4096, Pattern("ram2", 4096)}}},
      {"cow.raw",
       64 * kMiB,
       {{1024, Pattern("sb", 1024)}, {32 * kMiB, Pattern("cow", 4096)}}},
  };
}

std::vector<TestFile> CloudImageFiles() {
  return {
      Dense("config.json", SimFile("cloud-config.json")),
      Dense("state.json", SimFile("cloud-state.json")),
      {"memory-ranges",
       1024 * kMiB,
       {{4096, Pattern("cram", 4096)},
        {1024 * kMiB - 8192, Pattern("top", 8192)}}},
      {"overlay.qcow2",
       196624,
       {{0, "QFI\xfb" + Pattern("qcow2", 508)}, {65536, Pattern("l1", 512)}}},
      {"cidata.img",
       kMiB,
       {{0, Pattern("fat", 512)}, {16384, Pattern("meta", 2048)}}},
  };
}

absl::StatusOr<chtools::Snapshot> WriteSnapshotDir(
    const std::string& dir, const std::vector<TestFile>& files,
    bool direct_boot) {
  chtools::Snapshot s;
  s.set_id("0123456789abcdef");
  s.set_name("web-1-snap");
  s.set_source_vm_id("fedcba9876543210");
  s.set_source_vm_name("web-1");
  s.set_cpu(direct_boot ? 2 : 1);
  s.set_memory_bytes(direct_boot ? 512 * kMiB : 1024 * kMiB);
  s.set_created_at("2026-01-02T03:04:05.123456789Z");
  s.set_data_dir("/var/lib/chtools/snapshot/0123456789abcdef");
  s.set_direct_boot(direct_boot);
  if (direct_boot) {
    s.mutable_boot()->set_kernel_path("/var/lib/chtools/boot/vmlinux");
  } else {
    s.mutable_boot()->set_firmware_path(
        "/usr/share/cloud-hypervisor/CLOUDHV.fd");
  }
  for (const TestFile& f : files) {
    const std::string path = absl::StrCat(dir, "/", f.name);
    UniqueFd fd(
        ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) return ErrnoError(errno, "create", path);
    if (::ftruncate(fd.get(), static_cast<off_t>(f.size)) != 0) {
      return ErrnoError(errno, "truncate", path);
    }
    for (const auto& [offset, data] : f.pieces) {
      if (::pwrite(fd.get(), data.data(), data.size(),
                   static_cast<off_t>(offset)) !=
          static_cast<ssize_t>(data.size())) {
        return ErrnoError(errno, "write", path);
      }
    }
    ASSIGN_OR_RETURN(std::string digest, hash::Sha256Fd(fd.get(), path));
    chtools::SnapshotFile* sf = s.add_files();
    sf->set_name(f.name);
    sf->set_size_bytes(static_cast<int64_t>(f.size));
    sf->set_sha256(digest);
  }
  return s;
}

absl::Status CheckSnapshotDir(const std::string& dir,
                              const chtools::Snapshot& snapshot) {
  std::vector<std::string> want;
  for (const chtools::SnapshotFile& f : snapshot.files()) {
    const std::string path = absl::StrCat(dir, "/", f.name());
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return ErrnoError(errno, "stat", path);
    if (!S_ISREG(st.st_mode) || st.st_size != f.size_bytes()) {
      return absl::DataLossError(
          absl::StrCat(path, ": size ", st.st_size, ", want ", f.size_bytes()));
    }
    ASSIGN_OR_RETURN(std::string digest, hash::Sha256File(path));
    if (digest != f.sha256()) {
      return absl::DataLossError(
          absl::StrCat(path, ": SHA-256 ", digest, ", want ", f.sha256()));
    }
    want.push_back(f.name());
  }
  std::sort(want.begin(), want.end());
  if (ListDir(dir) != want) {
    return absl::DataLossError(absl::StrCat(dir, ": unexpected files"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> AllocatedBytes(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoError(errno, "stat", path);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return {"<cannot open " + dir + ">"};
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace chtools::archive::testing
