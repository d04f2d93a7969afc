#include "lib/hash/sha256.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "lib/base/unique_fd.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::hash {
namespace {

TEST(Sha256Test, KnownVectors) {
  Sha256 empty;
  EXPECT_EQ(empty.HexDigest(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 abc;
  abc.Update("abc");
  EXPECT_EQ(abc.HexDigest(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(IsSha256Hex(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  EXPECT_FALSE(IsSha256Hex(
      "BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

TEST(Sha256Test, ASparseFileHashesLikeItsBytes) {
  testing::TempDir dir;
  std::string path = dir.Join("sparse");
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(fd.valid());
  // data, a 3 MiB hole, data, a hole to the end.
  std::string a(5000, 'a'), b(4096, 'b');
  ASSERT_EQ(::pwrite(fd.get(), a.data(), a.size(), 0),
            static_cast<ssize_t>(a.size()));
  ASSERT_EQ(::pwrite(fd.get(), b.data(), b.size(), 3 << 20),
            static_cast<ssize_t>(b.size()));
  ASSERT_EQ(::ftruncate(fd.get(), 8 << 20), 0);
  Sha256 want;
  want.Update(a);
  want.UpdateZeros((3 << 20) - a.size());
  want.Update(b);
  want.UpdateZeros((8 << 20) - (3 << 20) - b.size());
  ASSERT_OK_AND_ASSIGN(std::string got, Sha256File(path));
  EXPECT_EQ(got, want.HexDigest());
}

}  // namespace
}  // namespace chtools::hash
