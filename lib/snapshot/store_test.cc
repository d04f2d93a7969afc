#include "lib/snapshot/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/hash/sha256.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::snapshot {
namespace {

using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;

// A snapshot with one file "memory-ranges" holding `data`, built in a temp dir.
absl::StatusOr<Snapshot> Build(Store& store, const std::string& id,
                               const std::string& name,
                               const std::string& data) {
  absl::StatusOr<TempDir> t = store.NewTemp(id);
  if (!t.ok()) return t.status();
  int fd = ::openat(t->fd(), "memory-ranges",
                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, data.data(), data.size()) !=
                    static_cast<ssize_t>(data.size())) {
    return absl::InternalError("write");
  }
  ::close(fd);
  Snapshot s;
  s.set_id(id);
  s.set_name(name);
  s.set_created_at("2026-12-03T10:00:00Z");
  SnapshotFile* f = s.add_files();
  f->set_name("memory-ranges");
  f->set_size_bytes(static_cast<int64_t>(data.size()));
  hash::Sha256 h;
  h.Update(data);
  f->set_sha256(h.HexDigest());
  return store.Publish(*t, s);
}

TEST(StoreTest, PublishListGetResolveRemove) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(dir.path()));
  ASSERT_OK_AND_ASSIGN(Snapshot a,
                       Build(*store, "aaaa000000000001", "one", "hello"));
  EXPECT_EQ(a.data_dir(), store->DirOf("aaaa000000000001"));
  ASSERT_OK_AND_ASSIGN(auto all, store->List());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].name(), "one");
  EXPECT_THAT(store->Resolve("one"),
              ::chtools::testing::IsOkAndHolds("aaaa000000000001"));
  EXPECT_THAT(store->Resolve("aaaa"),
              ::chtools::testing::IsOkAndHolds("aaaa000000000001"));
  EXPECT_THAT(store->Resolve("nope"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_OK(store->Verify(a));
  ASSERT_OK(store->Remove("aaaa000000000001"));
  ASSERT_OK_AND_ASSIGN(all, store->List());
  EXPECT_TRUE(all.empty());
  struct stat st;
  EXPECT_NE(::stat(store->DirOf("aaaa000000000001").c_str(), &st), 0);
}

TEST(StoreTest, NamesAreUniqueAndNeverAnIdPrefix) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(dir.path()));
  ASSERT_OK(Build(*store, "aaaa000000000001", "one", "x").status());
  EXPECT_THAT(Build(*store, "bbbb000000000002", "one", "y"),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("\"one\" is taken")));
  EXPECT_THAT(
      Build(*store, "bbbb000000000003", "aaaa", "y"),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("id prefix")));
  // The refused ones left no temp dir behind.
  ASSERT_OK_AND_ASSIGN(auto all, store->List());
  EXPECT_EQ(all.size(), 1u);
  struct stat st;
  EXPECT_NE(::stat((store->dir() + "/.tmp-bbbb000000000002").c_str(), &st), 0);
}

TEST(StoreTest, VerifyNamesTheFileThatChanged) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(dir.path()));
  ASSERT_OK_AND_ASSIGN(Snapshot a,
                       Build(*store, "aaaa000000000001", "", "hello"));
  int fd =
      ::open((a.data_dir() + "/memory-ranges").c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_EQ(::pwrite(fd, "J", 1, 0), 1);
  ::close(fd);
  EXPECT_THAT(store->Verify(a), StatusIs(absl::StatusCode::kDataLoss,
                                         HasSubstr("memory-ranges")));
}

TEST(StoreTest, AnUnpublishedTempDirIsRemovedAndNeverListed) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(dir.path()));
  std::string path;
  {
    ASSERT_OK_AND_ASSIGN(TempDir t, store->NewTemp("cccc000000000001"));
    path = t.path();
    ASSERT_OK_AND_ASSIGN(auto all, store->List());
    EXPECT_TRUE(all.empty());
  }
  struct stat st;
  EXPECT_NE(::stat(path.c_str(), &st), 0);
}

}  // namespace
}  // namespace chtools::snapshot
