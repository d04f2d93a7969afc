// Tests of CH's key=value option grammar.
#include "integration/sim/kv_parser.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/testing/status_matchers.h"

namespace chtools::sim {
namespace {

using ::chtools::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(SplitOptionsTest, CommasInsideBracketsAndQuotesDoNotSplit) {
  EXPECT_THAT(
      SplitOptions("path=a,queue_affinity=[0@[0,1],1@[2]],serial=\"x,y\""),
      ElementsAre("path=a", "queue_affinity=[0@[0,1],1@[2]]",
                  "serial=\"x,y\""));
}

TEST(SplitOptionsTest, OnlyTheWholeStringIsTrimmed) {
  EXPECT_THAT(SplitOptions("  path=a, readonly=on "),
              ElementsAre("path=a", " readonly=on"));
}

TEST(KvOptionsTest, SpaceAfterCommaMakesAnUnknownKey) {
  KvOptions o({"path", "readonly"});
  EXPECT_THAT(o.Parse("path=a, readonly=on"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "unknown option:  readonly"));
}

TEST(KvOptionsTest, UnknownKeyAndMissingEquals) {
  KvOptions o({"path"});
  EXPECT_THAT(o.Parse("foo=1"), StatusIs(absl::StatusCode::kInvalidArgument,
                                         "unknown option: foo"));
  KvOptions p({"path"});
  EXPECT_THAT(p.Parse("path"), StatusIs(absl::StatusCode::kInvalidArgument,
                                        "unknown option: path"));
}

TEST(KvOptionsTest, LastRepeatWinsAndEmptyMeansUnset) {
  KvOptions o({"tap", "mac"});
  ASSERT_OK(o.Parse("tap=a,tap=b,mac="));
  EXPECT_EQ(o.Get("tap"), "b");
  EXPECT_EQ(o.Get("mac"), std::nullopt);
  EXPECT_TRUE(o.Has("mac"));
}

TEST(KvOptionsTest, QuotesAreRemovedAndValuesTrimmed) {
  KvOptions o({"serial"});
  ASSERT_OK(o.Parse("serial=\"a,b\""));
  EXPECT_EQ(o.Get("serial"), "a,b");
}

TEST(KvOptionsTest, Toggles) {
  KvOptions o({"a", "b", "c", "d", "e"});
  ASSERT_OK(o.Parse("a=on,b=OFF,c=True,d=false,e=yes"));
  EXPECT_EQ(*o.GetBool("a"), true);
  EXPECT_EQ(*o.GetBool("b"), false);
  EXPECT_EQ(*o.GetBool("c"), true);
  EXPECT_EQ(*o.GetBool("d"), false);
  EXPECT_THAT(o.GetBool("e"), StatusIs(absl::StatusCode::kInvalidArgument,
                                       "unable to convert yes for e"));
}

TEST(ByteSizeTest, SuffixesArePowersOf1024AndBareIsBytes) {
  EXPECT_EQ(ParseByteSize("1024"), 1024u);
  EXPECT_EQ(ParseByteSize("2K"), 2048u);
  EXPECT_EQ(ParseByteSize("512M"), 512ull << 20);
  EXPECT_EQ(ParseByteSize("4G"), 4ull << 30);
  EXPECT_EQ(ParseByteSize("1T"), std::nullopt);
  EXPECT_EQ(ParseByteSize("1k"), std::nullopt);
  EXPECT_EQ(ParseByteSize(""), std::nullopt);
  EXPECT_EQ(ParseByteSize("-1"), std::nullopt);
}

TEST(IntListTest, RangesAreInclusiveAndOrdered) {
  EXPECT_THAT(*ParseIntList("[0,2,4-7]"), ElementsAre(0, 2, 4, 5, 6, 7));
  EXPECT_EQ(ParseIntList("[3-3]"), std::nullopt);
  EXPECT_EQ(ParseIntList("0,1"), std::nullopt);
}

TEST(TupleListTest, Affinity) {
  auto t = ParseTupleList("[0@[0,2],1@[1-3]]");
  ASSERT_TRUE(t.has_value());
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[0].first, 0u);
  EXPECT_THAT((*t)[0].second, ElementsAre(0, 2));
  EXPECT_THAT((*t)[1].second, ElementsAre(1, 2, 3));
  EXPECT_EQ(ParseTupleList("[0@0]"), std::nullopt);
}

TEST(KvOptionsTest, SizesThroughOptions) {
  KvOptions o({"size"});
  ASSERT_OK(o.Parse("size=1x"));
  EXPECT_THAT(o.GetSize("size"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unable to convert 1x for size")));
}

}  // namespace
}  // namespace chtools::sim
