#include "lib/record/ids.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "re2/re2.h"

namespace chtools::record {
namespace {

TEST(IdsTest, NewIdIsSixteenLowercaseHex) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewId();
    EXPECT_TRUE(IsValidId(id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);  // 64 random bits: a collision means a bug
}

TEST(IdsTest, NewMacIsLocallyAdministeredUnicast) {
  std::set<std::string> seen;
  for (int i = 0; i < 64; ++i) {
    std::string mac = NewMac();
    ASSERT_TRUE(re2::RE2::FullMatch(mac, "([0-9a-f]{2}:){5}[0-9a-f]{2}"))
        << mac;
    int first = std::stoi(mac.substr(0, 2), nullptr, 16);
    EXPECT_EQ(first & 0x03, 0x02) << mac;  // locally administered, unicast
    seen.insert(mac);
  }
  EXPECT_GT(seen.size(), 60u);
}

TEST(IdsTest, IsValidId) {
  EXPECT_TRUE(IsValidId("0123456789abcdef"));
  EXPECT_FALSE(IsValidId("0123456789ABCDEF"));
  EXPECT_FALSE(IsValidId("0123456789abcde"));
  EXPECT_FALSE(IsValidId("0123456789abcdef0"));
  EXPECT_FALSE(IsValidId("0123456789abcdeg"));
  EXPECT_FALSE(IsValidId(""));
}

}  // namespace
}  // namespace chtools::record
