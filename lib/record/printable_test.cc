#include "lib/record/printable.h"

#include <cstdint>
#include <random>
#include <string>

#include "google/protobuf/stubs/logging.h"
#include "gtest/gtest.h"
#include "lib/record/records.pb.h"

namespace chtools::record {
namespace {

// Whether protobuf reads back a record whose string field holds `s` (the
// parser rejects invalid UTF-8 in proto3 strings).
bool ProtobufReadsBack(const std::string& s) {
  google::protobuf::LogSilencer quiet;
  VmConfig c;
  c.set_image(s);
  std::string wire;
  c.SerializeToString(&wire);
  VmConfig back;
  return back.ParseFromString(wire);
}

TEST(FirstInvalidUtf8Test, FindsTheFirstBadByte) {
  EXPECT_EQ(FirstInvalidUtf8(""), absl::string_view::npos);
  EXPECT_EQ(FirstInvalidUtf8("plain ascii"), absl::string_view::npos);
  EXPECT_EQ(FirstInvalidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            absl::string_view::npos);
  EXPECT_EQ(FirstInvalidUtf8("a\xff"), 1u);
  EXPECT_EQ(FirstInvalidUtf8("ab\xc3"), 2u);            // truncated
  EXPECT_EQ(FirstInvalidUtf8("\xc0\x80"), 0u);          // overlong NUL
  EXPECT_EQ(FirstInvalidUtf8("\xe0\x80\xaf"), 0u);      // overlong '/'
  EXPECT_EQ(FirstInvalidUtf8("x\xed\xa0\x80"), 1u);     // surrogate
  EXPECT_EQ(FirstInvalidUtf8("\xf4\x90\x80\x80"), 0u);  // > U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8("\xf5\x80\x80\x80"), 0u);
}

// Our check must accept exactly what protobuf reads back: every 1- and 2-byte
// string, and sampled 3- and 4-byte ones biased towards multi-byte leads.
TEST(FirstInvalidUtf8Test, AgreesWithProtobufsParser) {
  for (int a = 0; a < 256; ++a) {
    for (int b = -1; b < 256; ++b) {
      std::string s(1, static_cast<char>(a));
      if (b >= 0) s += static_cast<char>(b);
      ASSERT_EQ(FirstInvalidUtf8(s) == absl::string_view::npos,
                ProtobufReadsBack(s))
          << a << " " << b;
    }
  }
  std::mt19937 rng(7);
  for (int n = 0; n < 200000; ++n) {
    std::string s;
    s += static_cast<char>(0xe0 + rng() % 0x20);
    int len = 2 + static_cast<int>(rng() % 3);
    for (int k = 0; k < len; ++k) {
      s +=
          static_cast<char>(rng() % 4 == 0 ? rng() % 256 : 0x80 + rng() % 0x40);
    }
    ASSERT_EQ(FirstInvalidUtf8(s) == absl::string_view::npos,
              ProtobufReadsBack(s))
        << absl::string_view(s).size();
  }
}

TEST(PrintableTest, EscapesControlsAndKeepsText) {
  EXPECT_EQ(Printable("web-1 /var/lib/x"), "web-1 /var/lib/x");
  EXPECT_EQ(Printable("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(Printable("a\nb\tc\rd"), "a\\nb\\tc\\rd");
  EXPECT_EQ(Printable("\x1b[2J\x07"), "\\x1b[2J\\x07");
  EXPECT_EQ(Printable(std::string("n\0l", 3)), "n\\x00l");
  EXPECT_EQ(Printable("del\x7f"), "del\\x7f");
  EXPECT_EQ(Printable("back\\slash"), "back\\\\slash");
  EXPECT_EQ(Printable("c1 \xc2\x9b"
                      "31m"),
            "c1 \\u009b31m");
  EXPECT_EQ(Printable("rtl \xe2\x80\xae"
                      "txt"),
            "rtl \\u202etxt");
  EXPECT_EQ(Printable("ls \xe2\x80\xa8"), "ls \\u2028");
  EXPECT_EQ(Printable("raw \x9b\xff"), "raw \\x9b\\xff");
}

TEST(PrintableTest, WidthCountsCodePoints) {
  EXPECT_EQ(PrintableWidth("abc"), 3u);
  EXPECT_EQ(PrintableWidth("caf\xc3\xa9"), 4u);
  EXPECT_EQ(PrintableWidth(Printable("\x1b")), 4u);
}

TEST(PrintableCutTest, EscapesAndCutsAtACharacterBoundary) {
  EXPECT_EQ(PrintableCut("short", 10), "short");
  EXPECT_EQ(PrintableCut("0123456789", 10), "0123456789");
  EXPECT_EQ(PrintableCut("0123456789a", 10), "0123456...");
  EXPECT_EQ(PrintableCut("\x1b\x1b\x1b", 10), "\\x1b\\x1...");
  // "é" is two bytes: never cut in half.
  EXPECT_EQ(PrintableCut("abcd\xc3\xa9\xc3\xa9zz", 8), "abcd...");
  EXPECT_EQ(PrintableCut(std::string(1 << 20, '\0'), 1024).size(), 1024u);
}

TEST(ValidTextTest, KeepsValidTextAndEscapesTheRest) {
  EXPECT_EQ(ValidText("a \\x00 \"b\"\n", 100), "a \\x00 \"b\"\n");
  EXPECT_EQ(ValidText("a\xff"
                      "b",
                      100),
            "a\\xffb");
  EXPECT_EQ(ValidText(std::string(2000, 'x'), 1024).size(), 1024u);
}

}  // namespace
}  // namespace chtools::record
