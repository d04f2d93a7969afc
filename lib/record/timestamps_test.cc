#include "lib/record/timestamps.h"

#include "gtest/gtest.h"
#include "lib/testing/status_matchers.h"

namespace chtools::record {
namespace {

using ::chtools::testing::StatusIs;

TEST(TimestampsTest, FormatsUtcWithNanoseconds) {
  absl::Time t =
      absl::FromUnixSeconds(1795806784) + absl::Nanoseconds(123456789);
  EXPECT_EQ(record::FormatTime(t), "2026-11-27T19:13:04.123456789Z");
  EXPECT_EQ(record::FormatTime(absl::FromUnixSeconds(0)),
            "1970-01-01T00:00:00.000000000Z");
}

TEST(TimestampsTest, RoundTrips) {
  absl::Time t = absl::FromUnixNanos(1795806784000000001);
  ASSERT_OK_AND_ASSIGN(absl::Time back, ParseTime(record::FormatTime(t)));
  EXPECT_EQ(back, t);
}

TEST(TimestampsTest, AcceptsOffsetsAndShortFractions) {
  ASSERT_OK_AND_ASSIGN(absl::Time a, ParseTime("2026-11-27T20:13:04+01:00"));
  ASSERT_OK_AND_ASSIGN(absl::Time b, ParseTime("2026-11-27T19:13:04.5Z"));
  EXPECT_EQ(a, absl::FromUnixSeconds(1795806784));
  EXPECT_EQ(b, absl::FromUnixSeconds(1795806784) + absl::Milliseconds(500));
}

TEST(TimestampsTest, RejectsNonRfc3339) {
  for (const char* bad : {"", "yesterday", "2026-11-27", "2026-11-27 19:13:04Z",
                          "2026-11-27T19:13:04", "2026-13-27T19:13:04Z",
                          " 2026-11-27T19:13:04Z"}) {
    EXPECT_THAT(ParseTime(bad), StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

}  // namespace
}  // namespace chtools::record
