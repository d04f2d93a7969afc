#include "lib/fs/extents.h"

#include <unistd.h>

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/sparse_test_util.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::fs {
namespace {

using ::chtools::testing::CreateFile;
using ::chtools::testing::CreateMemfd;
using ::chtools::testing::Pattern;
using ::chtools::testing::StatusIs;
using ::chtools::testing::TempDir;
using ::chtools::testing::WriteAt;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr uint64_t kMiB = 1 << 20;

TEST(ExtentsTest, FindsDataBetweenHolesAndKeepsTheOffset) {
  TempDir dir;
  UniqueFd fd = CreateFile(dir.Join("f"));
  WriteAt(fd.get(), 4 * kMiB, Pattern(kMiB, 1));
  WriteAt(fd.get(), 12 * kMiB, Pattern(4096, 2));
  ASSERT_EQ(::ftruncate(fd.get(), 16 * kMiB), 0);
  ASSERT_EQ(::lseek(fd.get(), 123, SEEK_SET), 123);
  ASSERT_OK_AND_ASSIGN(std::vector<Extent> e,
                       DataExtents(fd.get(), "f", 16 * kMiB));
  EXPECT_THAT(e, ElementsAre(Extent{4 * kMiB, kMiB}, Extent{12 * kMiB, 4096}));
  EXPECT_EQ(::lseek(fd.get(), 0, SEEK_CUR), 123);
  EXPECT_THAT(DataBytes(fd.get(), "f", 16 * kMiB),
              ::chtools::testing::IsOkAndHolds(kMiB + 4096));
}

TEST(ExtentsTest, CutsAtTheGivenSize) {
  UniqueFd fd = CreateMemfd("extents");
  WriteAt(fd.get(), 0, Pattern(3 * kMiB + 100, 3));
  ASSERT_OK_AND_ASSIGN(std::vector<Extent> e,
                       DataExtents(fd.get(), "m", 3 * kMiB + 100));
  EXPECT_THAT(e, ElementsAre(Extent{0, 3 * kMiB + 100}));
  ASSERT_OK_AND_ASSIGN(e, DataExtents(fd.get(), "m", kMiB));
  EXPECT_THAT(e, ElementsAre(Extent{0, kMiB}));
}

TEST(ExtentsTest, EmptyAndAllHole) {
  TempDir dir;
  UniqueFd fd = CreateFile(dir.Join("f"));
  EXPECT_THAT(DataExtents(fd.get(), "f", 0),
              ::chtools::testing::IsOkAndHolds(IsEmpty()));
  ASSERT_EQ(::ftruncate(fd.get(), 64 * kMiB), 0);
  EXPECT_THAT(DataExtents(fd.get(), "f", 64 * kMiB),
              ::chtools::testing::IsOkAndHolds(IsEmpty()));
}

TEST(ExtentsTest, ErrorsNameTheFile) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  UniqueFd r(p[0]), w(p[1]);
  EXPECT_THAT(
      DataExtents(r.get(), "the-pipe", 10),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("the-pipe")));
}

}  // namespace
}  // namespace chtools::fs
