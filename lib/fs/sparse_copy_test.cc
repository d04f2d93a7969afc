#include "lib/fs/sparse_copy.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/extents.h"
#include "lib/fs/sparse_test_util.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::fs {
namespace {

using ::chtools::testing::AllocatedBytes;
using ::chtools::testing::CreateFile;
using ::chtools::testing::CreateMemfd;
using ::chtools::testing::ExtentsOf;
using ::chtools::testing::Pattern;
using ::chtools::testing::ReadAt;
using ::chtools::testing::Sha256Of;
using ::chtools::testing::SizeOf;
using ::chtools::testing::StatusIs;
using ::chtools::testing::TempDir;
using ::chtools::testing::WriteAt;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kGiB = 1 << 30;

TEST(SparseCopyTest, KeepsTheHolesOfAGibFile) {
  TempDir dir;
  UniqueFd src = CreateFile(dir.Join("src"));
  UniqueFd dst = CreateFile(dir.Join("dst"));
  WriteAt(src.get(), 0, Pattern(kMiB, 1));
  WriteAt(src.get(), 300 * kMiB, Pattern(2 * kMiB, 2));
  WriteAt(src.get(), 700 * kMiB, Pattern(kMiB + 4096, 3));
  ASSERT_EQ(::ftruncate(src.get(), kGiB), 0);
  ASSERT_EQ(::fsync(src.get()), 0);

  ASSERT_OK_AND_ASSIGN(
      CopyStats stats,
      SparseCopy(src.get(), dst.get(), dir.Join("src"), dir.Join("dst")));
  ASSERT_EQ(::fsync(dst.get()), 0);
  EXPECT_EQ(stats.size, kGiB);
  EXPECT_EQ(stats.data_bytes, 4 * kMiB + 4096);
  EXPECT_EQ(SizeOf(dst.get()), kGiB);
  EXPECT_EQ(ExtentsOf(dst.get()), ExtentsOf(src.get()));
  EXPECT_EQ(AllocatedBytes(dst.get()), AllocatedBytes(src.get()));
  EXPECT_LT(AllocatedBytes(dst.get()), 8 * kMiB);
  EXPECT_EQ(Sha256Of(dst.get()), Sha256Of(src.get()));
}

TEST(SparseCopyTest, ExactSizeWithATrailingHole) {
  TempDir dir;
  UniqueFd src = CreateFile(dir.Join("src"));
  UniqueFd dst = CreateFile(dir.Join("dst"));
  WriteAt(src.get(), 0, Pattern(4096, 1));
  const uint64_t size = 10 * kMiB + 3;
  ASSERT_EQ(::ftruncate(src.get(), size), 0);
  ASSERT_OK_AND_ASSIGN(CopyStats stats,
                       SparseCopy(src.get(), dst.get(), "src", "dst"));
  EXPECT_EQ(stats.size, size);
  EXPECT_EQ(stats.data_bytes, 4096u);
  EXPECT_EQ(SizeOf(dst.get()), size);
  EXPECT_THAT(ExtentsOf(dst.get()), ElementsAre(Extent{0, 4096}));
  EXPECT_EQ(Sha256Of(dst.get()), Sha256Of(src.get()));
}

TEST(SparseCopyTest, EmptyFileEmptiesTheDestination) {
  TempDir dir;
  UniqueFd src = CreateFile(dir.Join("src"));
  UniqueFd dst = CreateFile(dir.Join("dst"));
  WriteAt(dst.get(), 0, "old contents");
  ASSERT_OK_AND_ASSIGN(CopyStats stats,
                       SparseCopy(src.get(), dst.get(), "src", "dst"));
  EXPECT_EQ(stats.size, 0u);
  EXPECT_EQ(stats.data_bytes, 0u);
  EXPECT_EQ(SizeOf(dst.get()), 0u);
}

TEST(SparseCopyTest, AFileThatIsAllData) {
  TempDir dir;
  UniqueFd src = CreateFile(dir.Join("src"));
  UniqueFd dst = CreateFile(dir.Join("dst"));
  const std::string data = Pattern(3 * kMiB + 123, 4);
  WriteAt(src.get(), 0, data);
  ASSERT_EQ(::lseek(src.get(), 77, SEEK_SET), 77);
  ASSERT_OK_AND_ASSIGN(CopyStats stats,
                       SparseCopy(src.get(), dst.get(), "src", "dst"));
  EXPECT_EQ(stats.size, data.size());
  EXPECT_EQ(stats.data_bytes, data.size());
  EXPECT_EQ(ReadAt(dst.get(), 0, data.size()), data);
  EXPECT_EQ(SizeOf(dst.get()), data.size());
  // Neither offset moved.
  EXPECT_EQ(::lseek(src.get(), 0, SEEK_CUR), 77);
  EXPECT_EQ(::lseek(dst.get(), 0, SEEK_CUR), 0);
}

TEST(SparseCopyTest, OldDataDoesNotShowThroughHoles) {
  TempDir dir;
  UniqueFd src = CreateFile(dir.Join("src"));
  UniqueFd dst = CreateFile(dir.Join("dst"));
  WriteAt(dst.get(), 0, std::string(8 * kMiB, '\xff'));
  WriteAt(src.get(), 2 * kMiB, Pattern(4096, 5));
  ASSERT_EQ(::ftruncate(src.get(), 6 * kMiB), 0);
  ASSERT_OK(SparseCopy(src.get(), dst.get(), "src", "dst").status());
  EXPECT_EQ(SizeOf(dst.get()), 6 * kMiB);
  EXPECT_THAT(ExtentsOf(dst.get()), ElementsAre(Extent{2 * kMiB, 4096}));
  EXPECT_EQ(Sha256Of(dst.get()), Sha256Of(src.get()));
}

// ext4 (or whatever TEST_TMPDIR is on) to tmpfs: copy_file_range says EXDEV
// and the pread/pwrite path runs.
TEST(SparseCopyTest, AcrossFilesystemsKeepsHoles) {
  TempDir dir;
  UniqueFd src = CreateFile(dir.Join("src"));
  UniqueFd dst = CreateMemfd("dst");
  WriteAt(src.get(), 0, Pattern(kMiB + 5, 6));
  WriteAt(src.get(), 40 * kMiB, Pattern(3 * kMiB, 7));
  ASSERT_EQ(::ftruncate(src.get(), 64 * kMiB), 0);
  ASSERT_OK_AND_ASSIGN(CopyStats stats,
                       SparseCopy(src.get(), dst.get(), "src", "memfd"));
  uint64_t src_data = 0;
  for (const Extent& e : ExtentsOf(src.get())) src_data += e.length;
  EXPECT_EQ(stats.data_bytes, src_data);
  EXPECT_EQ(SizeOf(dst.get()), 64 * kMiB);
  EXPECT_LT(AllocatedBytes(dst.get()), 8 * kMiB);
  EXPECT_EQ(Sha256Of(dst.get()), Sha256Of(src.get()));
}

TEST(SparseCopyTest, RefusesWhatItCannotCopyNamingTheFile) {
  TempDir dir;
  UniqueFd src = CreateFile(dir.Join("src"));
  WriteAt(src.get(), 0, "data");
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  UniqueFd r(p[0]), w(p[1]);
  EXPECT_THAT(
      SparseCopy(r.get(), src.get(), "the-pipe", "src"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("the-pipe")));
  EXPECT_THAT(
      SparseCopy(src.get(), w.get(), "src", "the-pipe"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("the-pipe")));

  UniqueFd again(::open(dir.Join("src").c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(again.valid());
  EXPECT_THAT(
      SparseCopy(src.get(), again.get(), "src", "src-again"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("same file")));
  EXPECT_EQ(SizeOf(src.get()), 4u);

  UniqueFd append(::open(dir.Join("app").c_str(),
                         O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  ASSERT_TRUE(append.valid());
  EXPECT_THAT(SparseCopy(src.get(), append.get(), "src", "app"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("app")));

  CreateFile(dir.Join("ro"));
  UniqueFd ro(::open(dir.Join("ro").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(ro.valid());
  absl::StatusOr<CopyStats> s =
      SparseCopy(src.get(), ro.get(), "src", "readonly-dst");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("readonly-dst"));
}

}  // namespace
}  // namespace chtools::fs
