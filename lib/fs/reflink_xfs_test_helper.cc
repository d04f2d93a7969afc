// The C++ half of reflink_xfs_test.sh: CloneOrCopy, SparseCopy and
// PunchZerosAndHash on filesystems the script has mounted (a loop XFS with
// reflink=1, a tmpfs, a 1 MiB tmpfs), named by environment variables.
// Prints timings for 256 MiB; asserts none of them.
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/reflink.h"
#include "lib/fs/sparse_copy.h"
#include "lib/fs/sparse_test_util.h"
#include "lib/fs/zero_holes.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::fs {
namespace {

using ::chtools::testing::AllocatedBytes;
using ::chtools::testing::CreateFile;
using ::chtools::testing::ExtentsOf;
using ::chtools::testing::Pattern;
using ::chtools::testing::Sha256Of;
using ::chtools::testing::SizeOf;
using ::chtools::testing::StatusIs;
using ::chtools::testing::TempDir;
using ::chtools::testing::WriteAt;
using ::testing::HasSubstr;

constexpr uint64_t kMiB = 1 << 20;

// The directory the script mounted for `var`; fails the test if unset.
std::string Dir(const char* var) {
  const char* v = std::getenv(var);
  if (v == nullptr || *v == '\0') {
    ADD_FAILURE() << var << " is not set: run this through reflink_xfs_test.sh";
    return "/nonexistent";
  }
  return v;
}

uint64_t FreeBytes(const std::string& dir) {
  struct statvfs st;
  EXPECT_EQ(::statvfs(dir.c_str(), &st), 0);
  return static_cast<uint64_t>(st.f_bfree) * st.f_frsize;
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

void Fill(int fd, uint64_t size) {
  for (uint64_t off = 0; off < size; off += kMiB) {
    WriteAt(fd, off, Pattern(kMiB, off / kMiB + 1));
  }
  ASSERT_EQ(::fsync(fd), 0);
}

TEST(ReflinkXfsTest, CloneOrCopyReflinksA256MibFile) {
  const std::string xfs = Dir("CHTOOLS_XFS_DIR");
  const std::string tmpfs = Dir("CHTOOLS_TMPFS_DIR");
  UniqueFd src = CreateFile(xfs + "/src");
  Fill(src.get(), 256 * kMiB);
  const std::string want = Sha256Of(src.get());
  const uint64_t free_before = FreeBytes(xfs);

  UniqueFd dst = CreateFile(xfs + "/clone");
  absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(CloneResult r,
                       CloneOrCopy(src.get(), dst.get(), "src", "clone"));
  const absl::Duration reflink = absl::Now() - start;
  EXPECT_EQ(r.method, CopyMethod::kReflink);
  EXPECT_EQ(r.stats.size, 256 * kMiB);
  EXPECT_EQ(r.stats.data_bytes, 256 * kMiB);
  EXPECT_EQ(SizeOf(dst.get()), 256 * kMiB);
  EXPECT_EQ(Sha256Of(dst.get()), want);
  ASSERT_EQ(::fsync(dst.get()), 0);
  // Shared blocks: the clone costs (next to) no space.
  EXPECT_LT(free_before - FreeBytes(xfs), 4 * kMiB);

  // For comparison, SparseCopy of the same file: within XFS copy_file_range
  // (which XFS may serve by sharing too), and to tmpfs and to TEST_TMPDIR
  // (another filesystem: EXDEV, so pread/pwrite).
  UniqueFd same_fs = CreateFile(xfs + "/copy");
  start = absl::Now();
  ASSERT_OK(SparseCopy(src.get(), same_fs.get(), "src", "copy").status());
  const absl::Duration xfs_copy = absl::Now() - start;
  EXPECT_EQ(Sha256Of(same_fs.get()), want);

  UniqueFd to_tmpfs = CreateFile(tmpfs + "/copy");
  start = absl::Now();
  ASSERT_OK(SparseCopy(src.get(), to_tmpfs.get(), "src", "tmpfs").status());
  const absl::Duration tmpfs_copy = absl::Now() - start;
  EXPECT_EQ(Sha256Of(to_tmpfs.get()), want);

  TempDir disk;
  UniqueFd to_disk = CreateFile(disk.Join("copy"));
  start = absl::Now();
  ASSERT_OK(SparseCopy(src.get(), to_disk.get(), "src", "disk").status());
  const absl::Duration disk_copy = absl::Now() - start;
  ASSERT_EQ(::fsync(to_disk.get()), 0);
  const absl::Duration disk_copy_sync = absl::Now() - start;
  EXPECT_EQ(Sha256Of(to_disk.get()), want);

  std::printf(
      "256 MiB (all data):\n"
      "  CloneOrCopy on XFS (FICLONE)                   %8.1f ms\n"
      "  SparseCopy XFS -> XFS (copy_file_range)        %8.1f ms\n"
      "  SparseCopy XFS -> tmpfs (pread/pwrite)         %8.1f ms\n"
      "  SparseCopy XFS -> TEST_TMPDIR (pread/pwrite)   %8.1f ms"
      " (%.1f ms with fsync)\n",
      Ms(reflink), Ms(xfs_copy), Ms(tmpfs_copy), Ms(disk_copy),
      Ms(disk_copy_sync));
}

// Snapshot flow: reflink the RAM file, punch zeros in the copy; the
// original's blocks are not touched.
TEST(ReflinkXfsTest, PunchingAReflinkedCopyLeavesTheSourceAlone) {
  const std::string xfs = Dir("CHTOOLS_XFS_DIR");
  UniqueFd src = CreateFile(xfs + "/ram");
  std::string ram(32 * kMiB, '\0');
  uint64_t nonzero = 0;
  for (uint64_t page = 0; page < ram.size() / 4096; page += 8) {
    ram.replace(page * 4096, 4096, Pattern(4096, page + 1));
    nonzero += 4096;
  }
  WriteAt(src.get(), 0, ram);
  ASSERT_EQ(::fsync(src.get()), 0);
  UniqueFd dst = CreateFile(xfs + "/ram-copy");
  ASSERT_OK_AND_ASSIGN(CloneResult r,
                       CloneOrCopy(src.get(), dst.get(), "ram", "ram-copy"));
  EXPECT_EQ(r.method, CopyMethod::kReflink);
  ASSERT_OK_AND_ASSIGN(ZeroHoleStats stats,
                       PunchZerosAndHash(dst.get(), "ram-copy"));
  EXPECT_EQ(stats.data_bytes_after, nonzero);
  EXPECT_EQ(stats.sha256, Sha256Of(src.get()));
  EXPECT_EQ(Sha256Of(dst.get()), stats.sha256);
  EXPECT_EQ(ExtentsOf(src.get()), (std::vector<Extent>{{0, ram.size()}}));
  ASSERT_OK_AND_ASSIGN(ZeroHoleStats again,
                       PunchZerosAndHash(dst.get(), "ram-copy"));
  EXPECT_EQ(again.punch_calls, 0u);
  EXPECT_EQ(again.sha256, stats.sha256);
}

TEST(ReflinkXfsTest, CloneOrCopyOnAMountedTmpfsFallsBack) {
  const std::string tmpfs = Dir("CHTOOLS_TMPFS_DIR");
  UniqueFd src = CreateFile(tmpfs + "/sparse");
  WriteAt(src.get(), kMiB, Pattern(2 * kMiB, 1));
  WriteAt(src.get(), 50 * kMiB, Pattern(4096, 2));
  ASSERT_EQ(::ftruncate(src.get(), 64 * kMiB + 1), 0);
  UniqueFd dst = CreateFile(tmpfs + "/sparse-copy");
  ASSERT_OK_AND_ASSIGN(CloneResult r,
                       CloneOrCopy(src.get(), dst.get(), "sparse", "copy"));
  EXPECT_EQ(r.method, CopyMethod::kSparseCopy);
  EXPECT_EQ(r.stats.data_bytes, 2 * kMiB + 4096);
  EXPECT_EQ(SizeOf(dst.get()), 64 * kMiB + 1);
  EXPECT_EQ(ExtentsOf(dst.get()), ExtentsOf(src.get()));
  EXPECT_EQ(AllocatedBytes(dst.get()), AllocatedBytes(src.get()));
  EXPECT_EQ(Sha256Of(dst.get()), Sha256Of(src.get()));
}

// ENOSPC both ways: copy_file_range within the full tmpfs, and pread/pwrite
// into it from another filesystem.
TEST(ReflinkXfsTest, AFullDestinationIsResourceExhaustedNamingIt) {
  const std::string full = Dir("CHTOOLS_SMALL_TMPFS_DIR");
  const std::string tmpfs = Dir("CHTOOLS_TMPFS_DIR");
  UniqueFd big = CreateFile(tmpfs + "/big");
  WriteAt(big.get(), 0, Pattern(4 * kMiB, 3));
  UniqueFd dst = CreateFile(full + "/dst");
  EXPECT_THAT(
      CloneOrCopy(big.get(), dst.get(), "big", full + "/dst"),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr(full + "/dst")));
  // The part copied stays: removing it is the caller's business.
  ASSERT_EQ(::ftruncate(dst.get(), 0), 0);

  UniqueFd small = CreateFile(full + "/small");
  WriteAt(small.get(), 0, Pattern(600 * 1024, 4));
  UniqueFd dst2 = CreateFile(full + "/dst2");
  EXPECT_THAT(SparseCopy(small.get(), dst2.get(), "small", full + "/dst2"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr(full + "/dst2")));
}

}  // namespace
}  // namespace chtools::fs
