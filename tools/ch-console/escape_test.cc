#include "tools/ch-console/escape.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/testing/status_matchers.h"

namespace ch_console {
namespace {

using ::chtools::testing::IsOkAndHolds;
using ::chtools::testing::StatusIs;

TEST(ParseEscapeCharTest, CaretNotation) {
  EXPECT_THAT(ParseEscapeChar("^]"), IsOkAndHolds('\x1d'));
  EXPECT_THAT(ParseEscapeChar("^a"), IsOkAndHolds('\x01'));
  EXPECT_THAT(ParseEscapeChar("^X"), IsOkAndHolds('\x18'));
  EXPECT_THAT(ParseEscapeChar("~"), IsOkAndHolds('~'));
  EXPECT_THAT(ParseEscapeChar("^"), IsOkAndHolds('^'));
  EXPECT_EQ(EscapeCharName('\x1d'), "^]");
}

TEST(ParseEscapeCharTest, Refused) {
  for (const char* bad : {"", "^1", "ab", "^@", "^J", "^M", "\x7f", "\xc3"}) {
    EXPECT_THAT(ParseEscapeChar(bad),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

TEST(EscapeFilterTest, PassesPlainBytes) {
  EscapeFilter f('\x1d');
  std::string out;
  size_t used;
  EXPECT_EQ(f.Feed("ls\n", &out, &used), EscapeFilter::Action::kNone);
  EXPECT_EQ(out, "ls\n");
  EXPECT_EQ(used, 3u);
}

TEST(EscapeFilterTest, DisconnectAcrossReads) {
  EscapeFilter f('\x1d');
  std::string out;
  size_t used;
  EXPECT_EQ(f.Feed("a\x1d", &out, &used), EscapeFilter::Action::kNone);
  EXPECT_EQ(out, "a");
  EXPECT_EQ(f.Feed(".rest", &out, &used), EscapeFilter::Action::kDisconnect);
  EXPECT_EQ(used, 1u);
}

TEST(EscapeFilterTest, HelpAndLiteralEscape) {
  EscapeFilter f('~');
  std::string out;
  size_t used;
  EXPECT_EQ(f.Feed("x~?y", &out, &used), EscapeFilter::Action::kHelp);
  EXPECT_EQ(used, 3u);
  EXPECT_EQ(out, "x");
  out.clear();
  EXPECT_EQ(f.Feed("~~~a", &out, &used), EscapeFilter::Action::kNone);
  EXPECT_EQ(out, "~~a");
}

}  // namespace
}  // namespace ch_console
