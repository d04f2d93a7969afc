#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/files.h"
#include "lib/fs/io.h"
#include "lib/fs/unix_socket.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::fs {
namespace {

using ::chtools::testing::StatusIs;
using ::chtools::testing::TempDir;
using ::testing::HasSubstr;

TEST(FilesTest, WriteNewFileRefusesAnExistingFileAndASymlink) {
  TempDir dir;
  ASSERT_OK(WriteNewFile(dir.Join("a"), "one", 0600));
  EXPECT_THAT(
      WriteNewFile(dir.Join("a"), "two", 0600),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(dir.Join("a"))));
  ASSERT_OK_AND_ASSIGN(std::string a, ReadFileToString(dir.Join("a")));
  EXPECT_EQ(a, "one");
  // A planted link to a victim is never followed.
  ASSERT_EQ(::symlink(dir.Join("victim").c_str(), dir.Join("link").c_str()), 0);
  EXPECT_FALSE(WriteNewFile(dir.Join("link"), "x", 0600).ok());
  struct stat st;
  EXPECT_NE(::stat(dir.Join("victim").c_str(), &st), 0);
}

TEST(FilesTest, MakeDirsAndRemoveTree) {
  TempDir dir;
  ASSERT_OK(MakeDirs(dir.Join("a/b/c"), 0700));
  struct stat st;
  ASSERT_EQ(::stat(dir.Join("a/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_OK(WriteNewFile(dir.Join("a/b/c/f"), "x", 0600));
  ASSERT_OK(RemoveTree(dir.Join("a")));
  EXPECT_NE(::stat(dir.Join("a").c_str(), &st), 0);
  EXPECT_OK(RemoveTree(dir.Join("a")));  // missing is fine
  EXPECT_OK(RemoveFile(dir.Join("none")));
}

TEST(IoTest, ReadAllStopsAtTheLimit) {
  TempDir dir;
  ASSERT_OK(WriteNewFile(dir.Join("f"), std::string(100, 'x'), 0600));
  EXPECT_THAT(
      ReadFileToString(dir.Join("f"), 99),
      StatusIs(absl::StatusCode::kOutOfRange, HasSubstr(dir.Join("f"))));
  ASSERT_OK_AND_ASSIGN(std::string all, ReadFileToString(dir.Join("f"), 100));
  EXPECT_EQ(all.size(), 100u);
}

TEST(UnixSocketTest, ConnectsAndNamesTheListener) {
  TempDir dir("/tmp");  // sun_path holds 108 bytes
  std::string path = dir.Join("s.sock");
  UniqueFd l(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(l.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
            0);
  // Bound but not listening: refused, like a CH between bind and listen.
  EXPECT_THAT(ConnectUnix(path), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_EQ(::listen(l.get(), 4), 0);
  ASSERT_OK_AND_ASSIGN(UniqueFd c, ConnectUnix(path));
  EXPECT_THAT(PeerPid(c.get()), ::chtools::testing::IsOkAndHolds(::getpid()));
  EXPECT_THAT(ConnectUnix(dir.Join("none")),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ConnectUnix(std::string(200, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("107")));
}

}  // namespace
}  // namespace chtools::fs
