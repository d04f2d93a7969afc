// Tests for FileLock: exclusion, bounded waits, and removal while held.
#include "lib/fs/flock.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::fs {
namespace {

using ::chtools::testing::StatusIs;
using ::chtools::testing::TempDir;
using ::testing::HasSubstr;

bool Exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

TEST(FileLockTest, AcquireCreatesTheFileAndExcludesOthers) {
  TempDir dir;
  std::string path = dir.Join("l");
  ASSERT_OK_AND_ASSIGN(FileLock lock,
                       FileLock::Acquire(path, absl::Seconds(1)));
  EXPECT_TRUE(Exists(path));
  // flock conflicts between open file descriptions, even in one process.
  ASSERT_OK_AND_ASSIGN(std::optional<FileLock> other,
                       FileLock::TryAcquire(path));
  EXPECT_FALSE(other.has_value());
}

TEST(FileLockTest, ReleasedWhenDestroyed) {
  TempDir dir;
  std::string path = dir.Join("l");
  {
    ASSERT_OK_AND_ASSIGN(FileLock lock,
                         FileLock::Acquire(path, absl::Seconds(1)));
  }
  ASSERT_OK_AND_ASSIGN(std::optional<FileLock> again,
                       FileLock::TryAcquire(path));
  EXPECT_TRUE(again.has_value());
}

TEST(FileLockTest, MoveKeepsTheLock) {
  TempDir dir;
  std::string path = dir.Join("l");
  std::optional<FileLock> holder;
  {
    ASSERT_OK_AND_ASSIGN(FileLock lock,
                         FileLock::Acquire(path, absl::Seconds(1)));
    holder.emplace(std::move(lock));
  }
  ASSERT_OK_AND_ASSIGN(std::optional<FileLock> other,
                       FileLock::TryAcquire(path));
  EXPECT_FALSE(other.has_value());
}

TEST(FileLockTest, AcquireTimesOut) {
  TempDir dir;
  std::string path = dir.Join("l");
  ASSERT_OK_AND_ASSIGN(FileLock lock,
                       FileLock::Acquire(path, absl::Seconds(1)));
  absl::Time start = absl::Now();
  EXPECT_THAT(FileLock::Acquire(path, absl::Milliseconds(50)),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("lock " + path + ": still held")));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
}

TEST(FileLockTest, WaiterGetsTheLockWhenReleased) {
  TempDir dir;
  std::string path = dir.Join("l");
  std::optional<FileLock> first;
  {
    ASSERT_OK_AND_ASSIGN(FileLock l, FileLock::Acquire(path, absl::Seconds(1)));
    first.emplace(std::move(l));
  }
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    absl::StatusOr<FileLock> l = FileLock::Acquire(path, absl::Seconds(10));
    got = l.ok();
  });
  absl::SleepFor(absl::Milliseconds(30));
  EXPECT_FALSE(got.load());
  first.reset();
  waiter.join();
  EXPECT_TRUE(got.load());
}

TEST(FileLockTest, RemovedFileMakesWaitersLockAFreshFile) {
  TempDir dir;
  std::string path = dir.Join("l");
  std::optional<FileLock> first;
  {
    ASSERT_OK_AND_ASSIGN(FileLock l, FileLock::Acquire(path, absl::Seconds(1)));
    first.emplace(std::move(l));
  }
  std::optional<FileLock> second;
  std::thread waiter([&] {
    absl::StatusOr<FileLock> l = FileLock::Acquire(path, absl::Seconds(10));
    if (l.ok()) second.emplace(*std::move(l));
  });
  absl::SleepFor(absl::Milliseconds(20));
  ASSERT_OK(first->RemoveFile());
  EXPECT_FALSE(Exists(path));
  first.reset();
  waiter.join();
  ASSERT_TRUE(second.has_value());
  // The waiter holds a lock on the file that is at the path now, so a third
  // party sees it busy (a lock on the unlinked inode would let it in).
  EXPECT_TRUE(Exists(path));
  ASSERT_OK_AND_ASSIGN(std::optional<FileLock> third,
                       FileLock::TryAcquire(path));
  EXPECT_FALSE(third.has_value());
}

TEST(FileLockTest, MissingDirectoryIsAnError) {
  TempDir dir;
  EXPECT_THAT(
      FileLock::Acquire(dir.Join("no/l"), absl::Seconds(1)),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr(dir.Join("no/l"))));
}

}  // namespace
}  // namespace chtools::fs
