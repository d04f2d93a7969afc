#include "lib/archive/ram_size.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/testing/golden.h"
#include "lib/testing/status_matchers.h"

namespace chtools::archive {
namespace {

using ::chtools::testing::IsOkAndHolds;
using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;

std::string SimState(const char* name) {
  auto text = chtools::testing::ReadFile(chtools::testing::RunfilePath(
      std::string("testdata/archive/sim/") + name));
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

// state.json as the CH simulator wrote it for `--memory size=512M` and
// `size=1G` (testdata/archive/README.md).
TEST(RamBytesFromStateTest, ReadsTheSimulatorsStateJson) {
  EXPECT_THAT(RamBytesFromState(SimState("direct-state.json")),
              IsOkAndHolds(uint64_t{512} << 20));
  EXPECT_THAT(RamBytesFromState(SimState("cloud-state.json")),
              IsOkAndHolds(uint64_t{1} << 30));
}

std::string WithRanges(const std::string& ranges_json) {
  // The inner state is JSON held in a JSON string (docs/ch-v51.md §4.3).
  std::string inner = "{\\\"memory_ranges\\\":{\\\"data\\\":" + ranges_json +
                      "},\\\"boot_ram\\\":0}";
  return R"({"snapshots":{"memory-manager":{"snapshots":{},"snapshot_data":{"state":")" +
         inner + R"("}}},"snapshot_data":null})";
}

TEST(RamBytesFromStateTest, SumsEveryRange) {
  EXPECT_THAT(
      RamBytesFromState(WithRanges(
          R"([{\"gpa\":0,\"length\":3221225472},{\"gpa\":4294967296,\"length\":1073741824}])")),
      IsOkAndHolds(uint64_t{4} << 30));
  EXPECT_THAT(RamBytesFromState(WithRanges("[]")), IsOkAndHolds(0u));
}

TEST(RamBytesFromStateTest, NamesWhatIsWrong) {
  EXPECT_THAT(RamBytesFromState("not json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not valid JSON")));
  EXPECT_THAT(RamBytesFromState(R"({"snapshots":{}})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("snapshots.memory-manager: missing")));
  EXPECT_THAT(RamBytesFromState(R"({"snapshots":[]})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("snapshots.memory-manager: missing")));
  EXPECT_THAT(
      RamBytesFromState(
          R"({"snapshots":{"memory-manager":{"snapshot_data":{"state":7}}}})"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("snapshot_data.state: missing or not a string")));
  EXPECT_THAT(
      RamBytesFromState(WithRanges(R"({})")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("memory_ranges.data: missing or not an array")));
  EXPECT_THAT(
      RamBytesFromState(WithRanges(R"([{\"gpa\":0,\"length\":-1}])")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("data[0].length: missing or not an unsigned")));
  EXPECT_THAT(RamBytesFromState(WithRanges(R"([7])")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("data[0].length")));
  EXPECT_THAT(RamBytesFromState(WithRanges(
                  R"([{\"length\":18446744073709551615},{\"length\":1}])")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2^64")));
}

}  // namespace
}  // namespace chtools::archive
