// Tests for Index::PutAll beyond the basics in index_test: large batches
// under a low fd limit, what other writers and Check do while a put runs,
// and a write failing in the middle of a batch.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/fs/atomic_file.h"
#include "lib/fs/flock.h"
#include "lib/index/index.h"
#include "lib/index/test_vms.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::index {
namespace {

using ::chtools::fs::FileLock;
using ::chtools::testing::IsOkAndHolds;
using ::chtools::testing::StatusIs;
using ::chtools::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

bool Exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

class PutAllTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Index>> index = Index::Open(dir_.path());
    ASSERT_OK(index.status());
    index_ = *std::move(index);
  }
  std::string Db(const std::string& rel) const {
    return index_->db_dir() + "/" + rel;
  }
  // "kind vm_id[ repaired]" per finding.
  std::vector<std::string> Check(bool repair) {
    absl::StatusOr<std::vector<Finding>> f =
        index_->Check(repair, CheckContext());
    if (!f.ok()) return {"error: " + f.status().ToString()};
    std::vector<std::string> out;
    for (const Finding& x : *f) {
      out.push_back(x.kind() + " " + x.vm_id() +
                    (x.repaired() ? " repaired" : ""));
    }
    return out;
  }
  // Makes this process look like a put that is running with `ids` (what
  // Store::BeginPut does), until the returned lock goes away.
  FileLock PretendPutIsRunning(const std::string& ids) {
    absl::StatusOr<FileLock> lock =
        FileLock::Acquire(Db("put.lock"), absl::Seconds(1));
    EXPECT_OK(lock.status());
    EXPECT_OK(fs::WriteFileAtomically(Db("put.ids"), ids));
    return *std::move(lock);
  }

  TempDir dir_;
  std::unique_ptr<Index> index_;
};

// A put holds a bounded number of fds whatever the size of its batch (it
// used to hold one lock per record and ran out at ~1,020 under ulimit -n
// 1024).
TEST_F(PutAllTest, ManyRecordsUnderALowFdLimit) {
  constexpr int kVms = 5000;
  std::vector<Vm> vms;
  for (int i = 0; i < kVms; ++i) {
    vms.push_back(TestVm(TestId(i + 1), absl::StrCat("vm-", i)));
  }
  // Then an upsert of 300 of them: one renamed, one taking the name of
  // another that is renamed too.
  std::vector<Vm> again(vms.begin(), vms.begin() + 300);
  again[17].mutable_config()->set_name("renamed");
  again[20].mutable_config()->set_name("vm-21");
  again[21].mutable_config()->set_name("vm-21b");
  struct rlimit old;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  struct rlimit low = old;
  low.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  {
    absl::Cleanup restore = [&] { ::setrlimit(RLIMIT_NOFILE, &old); };
    ASSERT_OK(index_->PutAll(vms));
    ASSERT_OK(index_->PutAll(again));
  }
  ASSERT_OK_AND_ASSIGN(std::vector<Vm> all, index_->List());
  EXPECT_EQ(all.size(), static_cast<size_t>(kVms));
  EXPECT_THAT(index_->Resolve("renamed"), IsOkAndHolds(TestId(18)));
  EXPECT_THAT(index_->Resolve("vm-17"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(index_->Resolve("vm-21"), IsOkAndHolds(TestId(21)));
  EXPECT_THAT(index_->Resolve("vm-21b"), IsOkAndHolds(TestId(22)));
  EXPECT_THAT(index_->Resolve("vm-4999"), IsOkAndHolds(TestId(5000)));
  EXPECT_FALSE(Exists(Db("put.ids")));
  EXPECT_THAT(Check(false), IsEmpty());
}

// While a put runs, the VMs it lists are its own: another writer waits for
// the put to end, and nobody (a claim, fsck --repair) takes over a name
// that points to one of them. Other VMs are not held up.
TEST_F(PutAllTest, ARunningPutOwnsTheVmsItLists) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "listed")));
  ASSERT_OK(index_->Reserve(TestVm(TestId(2), "other")));
  // The put has claimed "new" for VM 3, whose record it has not written yet.
  ASSERT_EQ(::symlink(TestId(3).c_str(), Db("names/new").c_str()), 0);
  std::optional<FileLock> put =
      PretendPutIsRunning(TestId(1) + "\n" + TestId(3) + "\n");

  absl::Time start = absl::Now();
  EXPECT_OK(
      index_->Update(TestId(2), [](Vm&) { return absl::OkStatus(); }).status());
  EXPECT_THAT(index_->Reserve(TestVm(TestId(4), "new")),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       "vm \"new\": name already used by " + TestId(3)));
  EXPECT_THAT(Check(true), IsEmpty());
  EXPECT_TRUE(Exists(Db("names/new")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));  // no waiting above

  std::thread ender([&] {
    absl::SleepFor(absl::Milliseconds(200));
    ::unlink(Db("put.ids").c_str());
    put.reset();
  });
  absl::Time before = absl::Now();
  EXPECT_OK(index_
                ->Update(TestId(1),
                         [](Vm& vm) {
                           vm.set_state(Vm::STOPPED);
                           return absl::OkStatus();
                         })
                .status());
  EXPECT_GE(absl::Now() - before, absl::Milliseconds(150));
  ender.join();
  // The "put" died before writing VM 3: its claim is an ordinary dangling
  // link now.
  EXPECT_THAT(Check(true),
              ElementsAre("dangling-name " + TestId(3) + " repaired"));
}

// A put.ids whose put.lock is free is what a killed put leaves: ignored by
// writers, reported by fsck and removed on repair.
TEST_F(PutAllTest, AStalePutListIsIgnoredAndRepaired) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web")));
  { FileLock gone = PretendPutIsRunning(TestId(1) + "\n"); }
  absl::Time start = absl::Now();
  EXPECT_OK(
      index_->Update(TestId(1), [](Vm&) { return absl::OkStatus(); }).status());
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
  EXPECT_THAT(Check(false), ElementsAre("stale-temp "));
  EXPECT_TRUE(Exists(Db("put.ids")));
  EXPECT_THAT(Check(true), ElementsAre("stale-temp  repaired"));
  EXPECT_FALSE(Exists(Db("put.ids")));
  EXPECT_THAT(Check(false), IsEmpty());
  // A running put's list is never touched.
  FileLock running = PretendPutIsRunning(TestId(1) + "\n");
  EXPECT_THAT(Check(true), IsEmpty());
  EXPECT_TRUE(Exists(Db("put.ids")));
}

// RLIMIT_FSIZE makes every write(2) past `bytes` fail with EFBIG: a real,
// deterministic "disk full" for the record files (symlinks and lock files
// hold no data, so names and locks still work).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    EXPECT_EQ(::getrlimit(RLIMIT_FSIZE, &old_), 0);
    struct rlimit low = old_;
    low.rlim_cur = bytes;
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &low), 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_handler_);
  }

 private:
  struct rlimit old_;
  sighandler_t old_handler_;
};

// A record too big to write, while small ones still fit.
Vm Big(const std::string& id, const std::string& name) {
  Vm vm = TestVm(id, name);
  vm.mutable_config()->set_image(std::string(1000, 'x'));
  return vm;
}

// A write failing mid-batch (a full disk) keeps the records already
// written, and leaves no name that no record carries: fsck stays clean.
TEST_F(PutAllTest, AFailedWriteLeavesNoDanglingNames) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(4), "d-old")));
  ASSERT_OK(index_->Reserve(TestVm(TestId(5), "e1")));
  // Written in two waves: 1, 5 (renamed to e2, leaving e1 to 6), 7 (new)
  // and 4 (renamed); then 6, which takes e1 from 5, and fails.
  std::vector<Vm> batch = {TestVm(TestId(1), "a"), TestVm(TestId(5), "e2"),
                           Big(TestId(6), "e1"), TestVm(TestId(7), "g"),
                           TestVm(TestId(4), "d-new")};
  {
    FileSizeLimit limit(400);
    EXPECT_THAT(index_->PutAll(batch),
                StatusIs(absl::StatusCode::kOutOfRange,
                         ::testing::HasSubstr("File too large")));
  }
  EXPECT_THAT(index_->Resolve("a"), IsOkAndHolds(TestId(1)));
  EXPECT_THAT(index_->Resolve("e2"), IsOkAndHolds(TestId(5)));
  EXPECT_THAT(index_->Resolve("g"), IsOkAndHolds(TestId(7)));
  EXPECT_THAT(index_->Resolve("d-new"), IsOkAndHolds(TestId(4)));
  for (const char* name : {"e1", "d-old"}) {
    EXPECT_FALSE(Exists(Db(std::string("names/") + name))) << name;
  }
  EXPECT_FALSE(Exists(Db("put.ids")));
  EXPECT_THAT(Check(false), IsEmpty());
}

// The batched durability path replaces no record before every temp file of
// its wave is written (and synced): a write failing in the middle of a
// wave leaves every record of the batch as it was, no temp file and no
// claimed name behind.
TEST_F(PutAllTest, AWaveReplacesNoRecordUntilAllItsDataIsWritten) {
  Vm old1 = TestVm(TestId(1), "one");
  Vm old2 = TestVm(TestId(2), "two");
  ASSERT_OK(index_->Reserve(old1));
  ASSERT_OK(index_->Reserve(old2));
  Vm new1 = TestVm(TestId(1), "one", Vm::STOPPED);
  Vm new2 = TestVm(TestId(2), "two-renamed", Vm::STOPPED);
  std::vector<Vm> batch = {new1, new2, Big(TestId(3), "three"),
                           TestVm(TestId(4), "four")};
  {
    FileSizeLimit limit(400);
    EXPECT_THAT(index_->PutAll(batch),
                StatusIs(absl::StatusCode::kOutOfRange,
                         ::testing::HasSubstr("File too large")));
  }
  ASSERT_OK_AND_ASSIGN(Vm got1, index_->Get(TestId(1)));
  ASSERT_OK_AND_ASSIGN(Vm got2, index_->Get(TestId(2)));
  EXPECT_EQ(got1.state(), Vm::CREATED);
  EXPECT_EQ(got2.state(), Vm::CREATED);
  EXPECT_EQ(got2.config().name(), "two");
  EXPECT_THAT(index_->Get(TestId(3)).status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(index_->Get(TestId(4)).status(),
              StatusIs(absl::StatusCode::kNotFound));
  for (const char* name : {"three", "four", "two-renamed"}) {
    EXPECT_FALSE(Exists(Db(std::string("names/") + name))) << name;
  }
  ASSERT_OK_AND_ASSIGN(std::vector<Vm> all, index_->List());
  EXPECT_EQ(all.size(), 2u);
  EXPECT_THAT(Check(false), IsEmpty());  // no stale-temp either

  // And the same batch without the limit goes through whole.
  ASSERT_OK(index_->PutAll(batch));
  EXPECT_THAT(index_->Resolve("two-renamed"), IsOkAndHolds(TestId(2)));
  EXPECT_THAT(index_->Resolve("three"), IsOkAndHolds(TestId(3)));
  EXPECT_FALSE(Exists(Db("names/two")));
  EXPECT_THAT(Check(false), IsEmpty());
}

TEST_F(PutAllTest, AFailedReserveOrUpdateLeavesNoDanglingNames) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web")));
  {
    FileSizeLimit limit(400);
    EXPECT_THAT(index_->Reserve(Big(TestId(2), "big")),
                StatusIs(absl::StatusCode::kOutOfRange));
    EXPECT_THAT(index_
                    ->Update(TestId(1),
                             [](Vm& vm) {
                               vm = Big(vm.id(), "web-renamed");
                               return absl::OkStatus();
                             })
                    .status(),
                StatusIs(absl::StatusCode::kOutOfRange));
  }
  EXPECT_FALSE(Exists(Db("names/big")));
  EXPECT_FALSE(Exists(Db("names/web-renamed")));
  EXPECT_FALSE(Exists(Db("locks/" + TestId(2))));
  EXPECT_THAT(index_->Resolve("web"), IsOkAndHolds(TestId(1)));
  EXPECT_THAT(Check(false), IsEmpty());
}

}  // namespace
}  // namespace chtools::index
