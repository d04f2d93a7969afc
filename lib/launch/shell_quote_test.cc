#include "lib/launch/shell_quote.h"

#include "gtest/gtest.h"

namespace chtools::launch {
namespace {

TEST(ShellQuoteTest, LeavesSafeWordsAlone) {
  EXPECT_EQ(ShellQuote("--api-socket"), "--api-socket");
  EXPECT_EQ(ShellQuote("path=/r/x.raw,readonly=on,serial=cocoon-layer0"),
            "path=/r/x.raw,readonly=on,serial=cocoon-layer0");
}

TEST(ShellQuoteTest, QuotesSpacesGlobsAndEmpty) {
  EXPECT_EQ(ShellQuote("console=hvc0 rw"), "'console=hvc0 rw'");
  EXPECT_EQ(ShellQuote("queue_affinity=[0@[0]]"), "'queue_affinity=[0@[0]]'");
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellQuote("$HOME"), "'$HOME'");
}

TEST(ShellQuoteTest, EscapesSingleQuotes) {
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
}

TEST(ShellQuoteTest, JoinsWithSpaces) {
  EXPECT_EQ(ShellJoin({"/bin/ch", "--cmdline", "a b"}),
            "/bin/ch --cmdline 'a b'");
}

}  // namespace
}  // namespace chtools::launch
