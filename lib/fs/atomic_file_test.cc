// Tests for WriteFileAtomically, FsyncDir and the read helpers.
#include "lib/fs/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/io.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::fs {
namespace {

using ::chtools::testing::StatusIs;
using ::chtools::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  return out;
}

TEST(AtomicFileTest, WritesNewFile) {
  TempDir dir;
  std::string path = dir.Join("a.pb");
  ASSERT_OK(WriteFileAtomically(path, "hello"));
  ASSERT_OK_AND_ASSIGN(std::string got, ReadFileToString(path));
  EXPECT_EQ(got, "hello");
  EXPECT_THAT(Entries(dir.path()), ::testing::ElementsAre("a.pb"));
}

TEST(AtomicFileTest, ReplacesExistingFileAndSetsMode) {
  TempDir dir;
  std::string path = dir.Join("a.pb");
  ASSERT_OK(WriteFileAtomically(path, std::string(100000, 'x')));
  // An fd opened on the old file keeps seeing the old contents: the new file
  // is a different inode, never the old one rewritten in place.
  UniqueFd old(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(old.valid());
  ASSERT_OK(WriteFileAtomically(path, "short", 0600));
  ASSERT_OK_AND_ASSIGN(std::string got, ReadFileToString(path));
  EXPECT_EQ(got, "short");
  char c;
  EXPECT_EQ(::read(old.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_THAT(Entries(dir.path()), ::testing::ElementsAre("a.pb"));
}

TEST(AtomicFileTest, ReadsLargeFiles) {
  TempDir dir;
  std::string big(3 << 20, 'q');
  big[12345] = 'z';
  ASSERT_OK(WriteFileAtomically(dir.Join("big"), big));
  ASSERT_OK_AND_ASSIGN(std::string got, ReadFileToString(dir.Join("big")));
  EXPECT_EQ(got, big);
}

TEST(AtomicFileTest, MissingDirectoryIsAnErrorNamingThePath) {
  TempDir dir;
  std::string path = dir.Join("nodir/a.pb");
  EXPECT_THAT(WriteFileAtomically(path, "x"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr(dir.Join("nodir/.a.pb.tmp-"))));
}

TEST(AtomicFileTest, TempFilesAreNamedAfterTheTarget) {
  EXPECT_EQ(TempPrefixFor("/a/b/0123456789abcdef.pb"),
            "/a/b/.0123456789abcdef.pb.tmp-");
  EXPECT_EQ(TempPrefixFor("x"), "./.x.tmp-");
}

TEST(AtomicFileTest, ReadMissingFileIsNotFound) {
  TempDir dir;
  EXPECT_THAT(ReadFileToString(dir.Join("none")),
              StatusIs(absl::StatusCode::kNotFound,
                       StartsWith("open " + dir.Join("none") + ": ")));
}

TEST(AtomicFileTest, ReadFileAtUsesTheDirectoryFd) {
  TempDir dir;
  ASSERT_OK(WriteFileAtomically(dir.Join("f"), "data"));
  UniqueFd d(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_OK_AND_ASSIGN(std::string got, ReadFileAt(d.get(), "f", "label"));
  EXPECT_EQ(got, "data");
  EXPECT_THAT(ReadFileAt(d.get(), "g", "label/g"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("label/g")));
}

TEST(AtomicFileTest, FsyncDir) {
  TempDir dir;
  EXPECT_OK(FsyncDir(dir.path()));
  EXPECT_THAT(FsyncDir(dir.Join("missing")),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace chtools::fs
