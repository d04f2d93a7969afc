#include "lib/fs/reflink.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/sparse_copy.h"
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
using ::chtools::testing::Sha256Of;
using ::chtools::testing::SizeOf;
using ::chtools::testing::StatusIs;
using ::chtools::testing::TempDir;
using ::chtools::testing::WriteAt;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr uint64_t kMiB = 1 << 20;

void MakeSparse(int fd) {
  WriteAt(fd, kMiB, Pattern(2 * kMiB, 1));
  WriteAt(fd, 50 * kMiB, Pattern(4096, 2));
  ASSERT_EQ(::ftruncate(fd, 64 * kMiB + 1), 0);
}

// memfds live on the kernel's internal tmpfs mount, which has no FICLONE.
TEST(ReflinkTest, CloneOrCopyOnTmpfsFallsBackToSparseCopy) {
  UniqueFd src = CreateMemfd("src");
  UniqueFd dst = CreateMemfd("dst");
  MakeSparse(src.get());
  EXPECT_THAT(Reflink(src.get(), dst.get(), "src", "dst"),
              StatusIs(absl::StatusCode::kUnimplemented,
                       AllOf(HasSubstr("FICLONE"), HasSubstr("src -> dst"))));
  ASSERT_OK_AND_ASSIGN(CloneResult r,
                       CloneOrCopy(src.get(), dst.get(), "src", "dst"));
  EXPECT_EQ(r.method, CopyMethod::kSparseCopy);
  EXPECT_EQ(r.stats.size, 64 * kMiB + 1);
  EXPECT_EQ(r.stats.data_bytes, 2 * kMiB + 4096);
  EXPECT_EQ(SizeOf(dst.get()), 64 * kMiB + 1);
  EXPECT_EQ(ExtentsOf(dst.get()), ExtentsOf(src.get()));
  EXPECT_EQ(AllocatedBytes(dst.get()), AllocatedBytes(src.get()));
  EXPECT_EQ(Sha256Of(dst.get()), Sha256Of(src.get()));
}

TEST(ReflinkTest, CloneOrCopyAcrossFilesystemsFallsBack) {
  TempDir dir;
  UniqueFd src = CreateFile(dir.Join("src"));
  UniqueFd dst = CreateMemfd("dst");
  MakeSparse(src.get());
  ASSERT_OK_AND_ASSIGN(CloneResult r,
                       CloneOrCopy(src.get(), dst.get(), "src", "memfd"));
  EXPECT_EQ(r.method, CopyMethod::kSparseCopy);
  EXPECT_EQ(ExtentsOf(dst.get()), ExtentsOf(src.get()));
  EXPECT_EQ(Sha256Of(dst.get()), Sha256Of(src.get()));
}

// Whatever TEST_TMPDIR is on, the copy is right; on ext4 and tmpfs (no
// reflink) it must be a sparse copy.
TEST(ReflinkTest, CloneOrCopyInTheTestDirectory) {
  TempDir dir;
  UniqueFd src = CreateFile(dir.Join("src"));
  UniqueFd dst = CreateFile(dir.Join("dst"));
  MakeSparse(src.get());
  ASSERT_OK_AND_ASSIGN(CloneResult r,
                       CloneOrCopy(src.get(), dst.get(), "src", "dst"));
  struct statfs fs;
  ASSERT_EQ(::fstatfs(dst.get(), &fs), 0);
  if (fs.f_type == EXT4_SUPER_MAGIC || fs.f_type == TMPFS_MAGIC) {
    EXPECT_EQ(r.method, CopyMethod::kSparseCopy);
  }
  EXPECT_EQ(r.stats.size, 64 * kMiB + 1);
  EXPECT_EQ(SizeOf(dst.get()), 64 * kMiB + 1);
  EXPECT_EQ(ExtentsOf(dst.get()), ExtentsOf(src.get()));
  EXPECT_EQ(Sha256Of(dst.get()), Sha256Of(src.get()));
}

// EBADF (dst not open for writing) is no "cannot reflink here": it is
// returned as it is, not papered over with a copy.
TEST(ReflinkTest, OtherErrorsAreReturnedNamingTheFiles) {
  UniqueFd src = CreateMemfd("src");
  UniqueFd dst = CreateMemfd("dst");
  MakeSparse(src.get());
  const std::string proc = "/proc/self/fd/" + std::to_string(dst.get());
  UniqueFd dst_ro(::open(proc.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(dst_ro.valid());
  EXPECT_THAT(CloneOrCopy(src.get(), dst_ro.get(), "src", "dst"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("FICLONE"), HasSubstr("src -> dst"))));
  EXPECT_EQ(SizeOf(dst.get()), 0u);

  // A pipe is "not here" (EINVAL), and SparseCopy then refuses it.
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  UniqueFd r(p[0]), w(p[1]);
  EXPECT_THAT(
      CloneOrCopy(src.get(), w.get(), "src", "the-pipe"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("the-pipe")));
}

}  // namespace
}  // namespace chtools::fs
