#include "lib/archive/sparse_map.h"

#include <cstdint>
#include <limits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/testing/status_matchers.h"

namespace chtools::archive {
namespace {

using ::chtools::testing::IsOk;
using ::chtools::testing::IsOkAndHolds;
using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

TEST(CheckedAddTest, DetectsOverflow) {
  EXPECT_EQ(CheckedAdd(1, 2), 3u);
  EXPECT_EQ(CheckedAdd(kMax, 0), kMax);
  EXPECT_EQ(CheckedAdd(kMax, 1), std::nullopt);
  EXPECT_EQ(CheckedAdd(kMax / 2 + 1, kMax / 2 + 1), std::nullopt);
}

TEST(CheckSparseMapTest, AcceptsSortedDisjointMapsInsideTheSize) {
  EXPECT_THAT(CheckSparseMap({}, 0, 10), IsOk());
  EXPECT_THAT(CheckSparseMap({{0, 10}, {10, 5}, {100, 0}}, 100, 10), IsOk());
  // The empty extent at the end that writers add to mark the size.
  EXPECT_THAT(CheckSparseMap({{0, 4096}, {1 << 20, 0}}, 1 << 20, 10), IsOk());
}

TEST(CheckSparseMapTest, NamesEachBrokenRule) {
  EXPECT_THAT(CheckSparseMap({{0, 8192}, {4096, 4096}}, 1 << 20, 10),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sparse map overlap: extent 1")));
  EXPECT_THAT(CheckSparseMap({{4096, 10}, {0, 10}}, 1 << 20, 10),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sparse map out of order: extent 1")));
  EXPECT_THAT(CheckSparseMap({{0, 10}, {95, 10}}, 100, 10),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sparse map past entry size")));
  EXPECT_THAT(CheckSparseMap({{kMax, 2}}, kMax, 10),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sparse map past entry size")));
  EXPECT_THAT(CheckSparseMap({{0, 1}, {2, 1}, {4, 1}}, 10, 2),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sparse map too long: 3 extents")));
}

TEST(BlockTrackerTest, ReturnsTheHoleBeforeEachBlock) {
  BlockTracker t(1000);
  EXPECT_THAT(t.Next(0, 10), IsOkAndHolds(0u));
  EXPECT_THAT(t.Next(10, 10), IsOkAndHolds(0u));
  EXPECT_THAT(t.Next(100, 50), IsOkAndHolds(80u));
  EXPECT_THAT(t.Next(1000, 0), IsOkAndHolds(850u));
  EXPECT_EQ(t.end(), 1000u);
  EXPECT_EQ(t.data_bytes(), 70u);
}

TEST(BlockTrackerTest, RejectsBlocksThatGoBackOrPassTheEnd) {
  {
    BlockTracker t(1000);
    ASSERT_THAT(t.Next(100, 10), IsOk());
    ASSERT_THAT(t.Next(110, 10), IsOk());
    EXPECT_THAT(t.Next(105, 1), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("sparse map overlap")));
  }
  {
    BlockTracker t(1000);
    ASSERT_THAT(t.Next(100, 10), IsOk());
    EXPECT_THAT(t.Next(0, 10), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("sparse map out of order")));
  }
  {
    BlockTracker t(1000);
    EXPECT_THAT(t.Next(995, 10),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("sparse map past entry size")));
    EXPECT_THAT(t.Next(kMax - 1, 10),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("sparse map past entry size")));
  }
}

}  // namespace
}  // namespace chtools::archive
