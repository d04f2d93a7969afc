#include "lib/launch/fat12.h"

#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/testing/status_matchers.h"

namespace chtools::launch {
namespace {

using ::chtools::testing::StatusIs;

const absl::CivilSecond kTime(2026, 11, 27, 19, 13, 4);

int U16(const std::string& img, size_t off) {
  return static_cast<unsigned char>(img[off]) |
         (static_cast<unsigned char>(img[off + 1]) << 8);
}

int Fat(const std::string& img, int cluster, int copy = 0) {
  size_t off = (1 + 6 * copy) * 512 + cluster * 3 / 2;
  int v = U16(img, off);
  return cluster % 2 ? v >> 4 : v & 0xfff;
}

std::vector<Fat12File> ThreeFiles() {
  return {{"user-data", std::string(600, 'u')},
          {"meta-data", "instance-id: x\n"},
          {"network-config", "version: 2\n"}};
}

TEST(Fat12Test, BootSector) {
  ASSERT_OK_AND_ASSIGN(std::string img, BuildFat12Image(ThreeFiles(), "cidata",
                                                        0x12345678, kTime));
  ASSERT_EQ(img.size(), 1048576u);
  EXPECT_EQ(img.substr(0, 3), "\xEB\x3C\x90");
  EXPECT_EQ(U16(img, 11), 512);
  EXPECT_EQ(U16(img, 17), 128);
  EXPECT_EQ(U16(img, 19), 2048);
  EXPECT_EQ(U16(img, 22), 6);
  EXPECT_EQ(static_cast<unsigned char>(img[21]), 0xF8);
  EXPECT_EQ(static_cast<unsigned char>(img[38]), 0x29);
  EXPECT_EQ(U16(img, 39), 0x5678);
  EXPECT_EQ(img.substr(43, 11), "CIDATA     ");
  EXPECT_EQ(img.substr(54, 8), "FAT12   ");
  EXPECT_EQ(U16(img, 510), 0xAA55);
}

TEST(Fat12Test, FilesInNameOrderWithContiguousChains) {
  ASSERT_OK_AND_ASSIGN(std::string img,
                       BuildFat12Image(ThreeFiles(), "CIDATA", 1, kTime));
  EXPECT_EQ(Fat(img, 0), 0xFF8);
  EXPECT_EQ(Fat(img, 1), 0xFFF);
  EXPECT_EQ(Fat(img, 2), 0xFFF);  // meta-data
  EXPECT_EQ(Fat(img, 3), 0xFFF);  // network-config
  EXPECT_EQ(Fat(img, 4), 5);      // user-data, 2 clusters
  EXPECT_EQ(Fat(img, 5), 0xFFF);
  EXPECT_EQ(Fat(img, 6), 0);
  for (int c = 0; c < 8; ++c) EXPECT_EQ(Fat(img, c, 1), Fat(img, c, 0));
  EXPECT_EQ(img.substr(21 * 512, 15), "instance-id: x\n");
  EXPECT_EQ(img.substr(22 * 512, 11), "version: 2\n");
  EXPECT_EQ(img.substr(23 * 512, 600), std::string(600, 'u'));
}

TEST(Fat12Test, ShortNamesShareOneCounter) {
  ASSERT_OK_AND_ASSIGN(std::string img,
                       BuildFat12Image(ThreeFiles(), "CIDATA", 1, kTime));
  size_t root = 13 * 512;
  EXPECT_EQ(img.substr(root, 11), "CIDATA     ");
  EXPECT_EQ(img[root + 11], 0x08);
  // meta-data: 1 long entry then the 8.3 entry.
  EXPECT_EQ(static_cast<unsigned char>(img[root + 32]), 0x41);
  EXPECT_EQ(img[root + 32 + 11], 0x0F);
  EXPECT_EQ(img.substr(root + 64, 11), "META-D~1   ");
  EXPECT_EQ(U16(img, root + 64 + 26), 2);
  // network-config: 2 long entries (14 chars).
  EXPECT_EQ(static_cast<unsigned char>(img[root + 96]), 0x42);
  EXPECT_EQ(static_cast<unsigned char>(img[root + 128]), 0x01);
  EXPECT_EQ(img.substr(root + 160, 11), "NETWOR~2   ");
  EXPECT_EQ(img.substr(root + 224, 11), "USER-D~3   ");
  EXPECT_EQ(U16(img, root + 224 + 28), 600);
}

TEST(Fat12Test, TooBigAFileIsRefused) {
  std::vector<Fat12File> files = {{"big", std::string(2028 * 512, 'x')}};
  EXPECT_THAT(BuildFat12Image(files, "CIDATA", 1, kTime),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       ::testing::HasSubstr("not enough space for big")));
}

}  // namespace
}  // namespace chtools::launch
