#include "lib/fs/zero_holes.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/extents.h"
#include "lib/fs/sparse_test_util.h"
#include "lib/hash/sha256.h"
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

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;

std::string HashOf(absl::string_view bytes) {
  hash::Sha256 h;
  h.Update(bytes);
  return h.HexDigest();
}

// Guest RAM as CH writes it: every byte, zero pages included. Here: blocks
// 0-1 data, 2-9 zero, 10 data, 11 zero, 12 data with one non-zero byte at
// its end, 13-15 zero.
std::string RamImage() {
  std::string ram(16 * 4096, '\0');
  ram.replace(0, 2 * 4096, Pattern(2 * 4096, 1));
  ram.replace(10 * 4096, 4096, Pattern(4096, 2));
  ram[13 * 4096 - 1] = 1;
  return ram;
}

TEST(ZeroHolesTest, ZeroBlocksBecomeHolesAndTheHashIsOfTheBytes) {
  TempDir dir;
  UniqueFd fd = CreateFile(dir.Join("ram"));
  const std::string ram = RamImage();
  WriteAt(fd.get(), 0, ram);
  ASSERT_EQ(::fsync(fd.get()), 0);
  const uint64_t allocated = AllocatedBytes(fd.get());

  ASSERT_OK_AND_ASSIGN(ZeroHoleStats stats,
                       PunchZerosAndHash(fd.get(), dir.Join("ram")));
  EXPECT_EQ(stats.sha256, HashOf(ram));
  EXPECT_EQ(stats.size, ram.size());
  EXPECT_EQ(stats.data_bytes_before, ram.size());
  EXPECT_EQ(stats.data_bytes_after, 4 * 4096u);
  EXPECT_EQ(stats.punched_bytes, 12 * 4096u);
  EXPECT_EQ(stats.punch_calls, 3u);  // 2-9, 11, 13-15
  EXPECT_THAT(ExtentsOf(fd.get()),
              ElementsAre(Extent{0, 2 * 4096}, Extent{10 * 4096, 4096},
                          Extent{12 * 4096, 4096}));
  EXPECT_EQ(::lseek(fd.get(), 2 * 4096, SEEK_HOLE), 2 * 4096);
  EXPECT_EQ(::lseek(fd.get(), 2 * 4096, SEEK_DATA), 10 * 4096);
  EXPECT_EQ(::lseek(fd.get(), 13 * 4096, SEEK_DATA), -1);
  EXPECT_EQ(errno, ENXIO);
  EXPECT_EQ(AllocatedBytes(fd.get()), allocated - 12 * 4096);
  EXPECT_EQ(SizeOf(fd.get()), ram.size());
  EXPECT_EQ(ReadAt(fd.get(), 0, ram.size()), ram);
}

TEST(ZeroHolesTest, IsIdempotent) {
  UniqueFd fd = CreateMemfd("ram");
  const std::string ram = RamImage();
  WriteAt(fd.get(), 0, ram);
  ASSERT_OK_AND_ASSIGN(ZeroHoleStats first, PunchZerosAndHash(fd.get(), "ram"));
  ASSERT_OK_AND_ASSIGN(ZeroHoleStats second,
                       PunchZerosAndHash(fd.get(), "ram"));
  EXPECT_EQ(second.sha256, first.sha256);
  EXPECT_EQ(second.sha256, HashOf(ram));
  EXPECT_EQ(second.data_bytes_before, first.data_bytes_after);
  EXPECT_EQ(second.data_bytes_after, first.data_bytes_after);
  EXPECT_EQ(second.punched_bytes, 0u);
  EXPECT_EQ(second.punch_calls, 0u);
}

TEST(ZeroHolesTest, LeavesANonAlignedTailAlone) {
  TempDir dir;
  UniqueFd fd = CreateFile(dir.Join("f"));
  const std::string zeros(3 * 4096 + 100, '\0');
  WriteAt(fd.get(), 0, zeros);
  ASSERT_OK_AND_ASSIGN(ZeroHoleStats stats, PunchZerosAndHash(fd.get(), "f"));
  EXPECT_EQ(stats.sha256, HashOf(zeros));
  EXPECT_EQ(stats.punched_bytes, 3 * 4096u);
  EXPECT_EQ(stats.punch_calls, 1u);
  EXPECT_THAT(ExtentsOf(fd.get()), ElementsAre(Extent{3 * 4096, 100}));
  EXPECT_EQ(SizeOf(fd.get()), zeros.size());
}

TEST(ZeroHolesTest, AnAlreadySparseFileWithZerosInItsData) {
  TempDir dir;
  UniqueFd fd = CreateFile(dir.Join("f"));
  // hole 0-1M, data 1M-3M (its second MiB zeros), hole, 5 MiB + 1 size.
  WriteAt(fd.get(), kMiB, Pattern(kMiB, 3));
  WriteAt(fd.get(), 2 * kMiB, std::string(kMiB, '\0'));
  ASSERT_EQ(::ftruncate(fd.get(), 5 * kMiB + 1), 0);
  std::string want(5 * kMiB + 1, '\0');
  want.replace(kMiB, kMiB, Pattern(kMiB, 3));
  ASSERT_OK_AND_ASSIGN(ZeroHoleStats stats, PunchZerosAndHash(fd.get(), "f"));
  EXPECT_EQ(stats.sha256, HashOf(want));
  EXPECT_EQ(stats.sha256, Sha256Of(fd.get()));
  EXPECT_EQ(stats.data_bytes_before, 2 * kMiB);
  EXPECT_EQ(stats.data_bytes_after, kMiB);
  EXPECT_THAT(ExtentsOf(fd.get()), ElementsAre(Extent{kMiB, kMiB}));
}

// The purpose: a RAM file of 64 MiB with 8 MiB that is not zero ends up
// 8 MiB on disk. Non-zero pages are scattered, with runs across the 1 MiB
// read chunks.
TEST(ZeroHolesTest, ADenseRamFileShrinksToItsNonZeroPages) {
  TempDir dir;
  UniqueFd fd = CreateFile(dir.Join("ram"));
  std::string ram(64 * kMiB, '\0');
  uint64_t nonzero = 0;
  for (uint64_t page = 0; page < ram.size() / 4096; ++page) {
    if (page % 8 == 3 || (page >= 250 && page < 262)) {
      ram.replace(page * 4096, 4096, Pattern(4096, page));
      nonzero += 4096;
    }
  }
  WriteAt(fd.get(), 0, ram);
  ASSERT_EQ(::fsync(fd.get()), 0);
  ASSERT_OK_AND_ASSIGN(ZeroHoleStats stats, PunchZerosAndHash(fd.get(), "ram"));
  EXPECT_EQ(stats.sha256, HashOf(ram));
  EXPECT_EQ(stats.data_bytes_before, ram.size());
  EXPECT_EQ(stats.data_bytes_after, nonzero);
  EXPECT_EQ(stats.punched_bytes, ram.size() - nonzero);
  EXPECT_LE(AllocatedBytes(fd.get()), nonzero + 64 * kKiB);
  EXPECT_EQ(Sha256Of(fd.get()), stats.sha256);
}

TEST(ZeroHolesTest, LargerBlocksPunchOnlyWholeZeroBlocks) {
  UniqueFd fd = CreateMemfd("f");
  // 64 KiB blocks: block 0 has one non-zero byte, block 1 is zero, block 2
  // is zero but for its last byte, block 3 is zero.
  std::string data(256 * kKiB, '\0');
  data[100] = 1;
  data[3 * 64 * kKiB - 1] = 1;
  WriteAt(fd.get(), 0, data);
  ASSERT_OK_AND_ASSIGN(ZeroHoleStats stats,
                       PunchZerosAndHash(fd.get(), "f", 64 * kKiB));
  EXPECT_EQ(stats.sha256, HashOf(data));
  EXPECT_EQ(stats.punch_calls, 2u);
  EXPECT_THAT(ExtentsOf(fd.get()),
              ElementsAre(Extent{0, 64 * kKiB}, Extent{128 * kKiB, 64 * kKiB}));
}

TEST(ZeroHolesTest, EmptyFile) {
  UniqueFd fd = CreateMemfd("f");
  ASSERT_OK_AND_ASSIGN(ZeroHoleStats stats, PunchZerosAndHash(fd.get(), "f"));
  EXPECT_EQ(stats.sha256, HashOf(""));
  EXPECT_EQ(stats.size, 0u);
  EXPECT_EQ(stats.punch_calls, 0u);
}

TEST(ZeroHolesTest, ErrorsNameTheFile) {
  TempDir dir;
  UniqueFd fd = CreateFile(dir.Join("f"));
  WriteAt(fd.get(), 0, std::string(8192, '\0'));
  for (uint64_t bad : {0ul, 100ul, 4095ul, 256ul, 32ul * kMiB}) {
    EXPECT_THAT(
        PunchZerosAndHash(fd.get(), "the-file", bad),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("the-file")))
        << bad;
  }
  UniqueFd ro(::open(dir.Join("f").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(ro.valid());
  EXPECT_THAT(PunchZerosAndHash(ro.get(), "the-file"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("fallocate PUNCH_HOLE the-file")));
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  UniqueFd r(p[0]), w(p[1]);
  EXPECT_THAT(
      PunchZerosAndHash(r.get(), "the-pipe"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("the-pipe")));
}

}  // namespace
}  // namespace chtools::fs
