// Tests for Index: reserve, get, update, delete, resolve, list, PutAll.
#include "lib/index/index.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/fs/files.h"
#include "lib/fs/flock.h"
#include "lib/index/test_vms.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::index {

using ::chtools::fs::FileLock;
namespace {

using ::chtools::testing::IsOkAndHolds;
using ::chtools::testing::StatusIs;
using ::chtools::testing::TempDir;
using ::testing::AllOf;
using ::testing::HasSubstr;

bool Exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

class IndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Index>> index = Index::Open(dir_.path());
    ASSERT_OK(index.status());
    index_ = *std::move(index);
  }
  std::string Db(const std::string& rel) const {
    return index_->db_dir() + "/" + rel;
  }
  std::vector<std::string> Names() {
    absl::StatusOr<std::vector<Vm>> vms = index_->List();
    std::vector<std::string> out;
    if (!vms.ok()) return {"error: " + vms.status().ToString()};
    for (const Vm& vm : *vms) out.push_back(vm.config().name());
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Index> index_;
};

TEST(IndexOpenTest, AMissingRootIsMadeOwnerOnly) {
  // A fresh host: the first command makes the root (and its parents).
  TempDir dir;
  ASSERT_OK(Index::Open(dir.Join("a/root")).status());
  struct stat st;
  ASSERT_EQ(::stat(dir.Join("a/root").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(dir.Join("a/root/cloudhypervisor/db/vms").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  // Something that is not a directory is an error.
  ASSERT_OK(fs::WriteNewFile(dir.Join("file"), "", 0600));
  EXPECT_THAT(Index::Open(dir.Join("file")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a directory")));
}

TEST(IndexOpenTest, CreatesTheDatabaseLayout) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Index> index, Index::Open(dir.path()));
  EXPECT_EQ(index->db_dir(), dir.Join("cloudhypervisor/db"));
  EXPECT_TRUE(Exists(dir.Join("cloudhypervisor/db/vms")));
  EXPECT_TRUE(Exists(dir.Join("cloudhypervisor/db/names")));
  EXPECT_TRUE(Exists(dir.Join("cloudhypervisor/db/locks")));
  // Opening again is fine.
  EXPECT_OK(Index::Open(dir.path()).status());
}

TEST_F(IndexTest, ReserveThenGet) {
  Vm vm = TestVm(TestId(1), "web", Vm::CREATING);
  vm.set_pid(1234);  // output-only fields are never stored
  vm.set_api_socket("/run/x/api.sock");
  ASSERT_OK(index_->Reserve(vm));
  ASSERT_OK_AND_ASSIGN(Vm got, index_->Get(TestId(1)));
  EXPECT_EQ(got.config().name(), "web");
  EXPECT_EQ(got.state(), Vm::CREATING);
  EXPECT_EQ(got.pid(), 0);
  EXPECT_EQ(got.api_socket(), "");
  EXPECT_FALSE(got.created_at().empty());
  EXPECT_FALSE(got.updated_at().empty());
  EXPECT_TRUE(Exists(Db("vms/" + TestId(1) + ".pb")));
  char target[64] = {};
  ASSERT_GT(::readlink(Db("names/web").c_str(), target, sizeof(target)), 0);
  EXPECT_EQ(std::string(target), TestId(1));
}

TEST_F(IndexTest, ReserveTakenNameOrIdFails) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web")));
  EXPECT_THAT(index_->Reserve(TestVm(TestId(2), "web")),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       "vm \"web\": name already used by " + TestId(1)));
  EXPECT_THAT(index_->Reserve(TestVm(TestId(1), "db")),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       "vm \"db\": id " + TestId(1) + " already used"));
  // The losers left nothing behind: no record, no name, no lock file.
  EXPECT_FALSE(Exists(Db("vms/" + TestId(2) + ".pb")));
  EXPECT_FALSE(Exists(Db("names/db")));
  EXPECT_FALSE(Exists(Db("locks/" + TestId(2))));
  EXPECT_THAT(Names(), ::testing::ElementsAre("web"));
}

TEST_F(IndexTest, ReserveRejectsBadIdsAndNames) {
  EXPECT_THAT(index_->Reserve(TestVm("../../etc", "web")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must be 16 lowercase hex")));
  EXPECT_THAT(index_->Reserve(TestVm(TestId(1), "-bad")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("config.name \"-bad\"")));
  EXPECT_THAT(index_->Reserve(TestVm(TestId(1), ".hidden")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(index_->Reserve(TestVm(TestId(1), std::string(64, 'a'))),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_OK(index_->Reserve(TestVm(TestId(1), std::string(63, 'a'))));
}

TEST_F(IndexTest, ReserveTakesOverADanglingName) {
  // A crash between claiming the name and writing the record.
  ASSERT_EQ(::symlink(TestId(9).c_str(), Db("names/web").c_str()), 0);
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web")));
  EXPECT_THAT(index_->Resolve("web"), IsOkAndHolds(TestId(1)));
  // The dead VM's lock file (created to check it) was not left behind.
  EXPECT_FALSE(Exists(Db("locks/" + TestId(9))));
}

TEST_F(IndexTest, ReserveRespectsANameClaimInFlight) {
  // Another process holds VM 9's lock: it has claimed "web" and is about to
  // write its record, so the name is taken.
  ASSERT_EQ(::symlink(TestId(9).c_str(), Db("names/web").c_str()), 0);
  ASSERT_OK_AND_ASSIGN(
      FileLock lock,
      FileLock::Acquire(Db("locks/" + TestId(9)), absl::Seconds(1)));
  EXPECT_THAT(index_->Reserve(TestVm(TestId(1), "web")),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("already used by " + TestId(9))));
}

TEST_F(IndexTest, GetMissingIsNotFound) {
  EXPECT_THAT(index_->Get(TestId(5)),
              StatusIs(absl::StatusCode::kNotFound,
                       "vm \"" + TestId(5) + "\": not found"));
  EXPECT_THAT(index_->Get("../x"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(IndexTest, UpdateChangesTheRecord) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web", Vm::CREATING)));
  ASSERT_OK_AND_ASSIGN(Vm before, index_->Get(TestId(1)));
  ASSERT_OK_AND_ASSIGN(Vm after, index_->Update(TestId(1), [](Vm& vm) {
    vm.set_state(Vm::CREATED);
    vm.add_snapshot_ids("aaaaaaaaaaaaaaaa");
    return absl::OkStatus();
  }));
  EXPECT_EQ(after.state(), Vm::CREATED);
  EXPECT_GE(after.updated_at(), before.updated_at());
  ASSERT_OK_AND_ASSIGN(Vm got, index_->Get(TestId(1)));
  EXPECT_EQ(got.state(), Vm::CREATED);
  EXPECT_EQ(got.snapshot_ids_size(), 1);
  EXPECT_EQ(got.updated_at(), after.updated_at());
}

TEST_F(IndexTest, UpdateErrorWritesNothing) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web", Vm::CREATING)));
  EXPECT_THAT(index_->Update(TestId(1),
                             [](Vm& vm) {
                               vm.set_state(Vm::ERROR);
                               return absl::FailedPreconditionError("nope");
                             }),
              StatusIs(absl::StatusCode::kFailedPrecondition, "nope"));
  ASSERT_OK_AND_ASSIGN(Vm got, index_->Get(TestId(1)));
  EXPECT_EQ(got.state(), Vm::CREATING);
  EXPECT_THAT(index_->Update(TestId(1),
                             [](Vm& vm) {
                               vm.set_id(TestId(2));
                               return absl::OkStatus();
                             }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("may not change the id")));
}

TEST_F(IndexTest, UpdateOfUnknownIdLeavesNoLockFile) {
  EXPECT_THAT(index_->Update(TestId(7), [](Vm&) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(Exists(Db("locks/" + TestId(7))));
}

TEST_F(IndexTest, RenameMovesTheClaim) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web")));
  ASSERT_OK(index_->Reserve(TestVm(TestId(2), "db")));
  ASSERT_OK(index_
                ->Update(TestId(1),
                         [](Vm& vm) {
                           vm.mutable_config()->set_name("www");
                           return absl::OkStatus();
                         })
                .status());
  EXPECT_THAT(index_->Resolve("www"), IsOkAndHolds(TestId(1)));
  EXPECT_THAT(index_->Resolve("web"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(Exists(Db("names/web")));
  // The freed name can be claimed again; a taken one cannot.
  EXPECT_OK(index_->Reserve(TestVm(TestId(3), "web")));
  EXPECT_THAT(index_->Update(TestId(1),
                             [](Vm& vm) {
                               vm.mutable_config()->set_name("db");
                               return absl::OkStatus();
                             }),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       "vm \"db\": name already used by " + TestId(2)));
  ASSERT_OK_AND_ASSIGN(Vm got, index_->Get(TestId(1)));
  EXPECT_EQ(got.config().name(), "www");
  EXPECT_THAT(index_->Update(TestId(1),
                             [](Vm& vm) {
                               vm.mutable_config()->set_name("bad name");
                               return absl::OkStatus();
                             }),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(IndexTest, DeleteRemovesRecordNameAndLock) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web")));
  ASSERT_OK(
      index_->Update(TestId(1), [](Vm&) { return absl::OkStatus(); }).status());
  EXPECT_TRUE(Exists(Db("locks/" + TestId(1))));
  ASSERT_OK(index_->Delete(TestId(1)));
  EXPECT_FALSE(Exists(Db("vms/" + TestId(1) + ".pb")));
  EXPECT_FALSE(Exists(Db("names/web")));
  EXPECT_FALSE(Exists(Db("locks/" + TestId(1))));
  EXPECT_THAT(index_->Delete(TestId(1)),
              StatusIs(absl::StatusCode::kNotFound,
                       "vm \"" + TestId(1) + "\": not found"));
  EXPECT_OK(index_->Reserve(TestVm(TestId(2), "web")));
}

TEST_F(IndexTest, ResolveByIdNameAndPrefix) {
  ASSERT_OK(index_->Reserve(TestVm("abc1000000000000", "web")));
  ASSERT_OK(index_->Reserve(TestVm("abc2000000000000", "db")));
  ASSERT_OK(index_->Reserve(TestVm("def0000000000000", "cache")));
  EXPECT_THAT(index_->Resolve("abc1000000000000"),
              IsOkAndHolds("abc1000000000000"));
  EXPECT_THAT(index_->Resolve("db"), IsOkAndHolds("abc2000000000000"));
  EXPECT_THAT(index_->Resolve("abc1"), IsOkAndHolds("abc1000000000000"));
  EXPECT_THAT(index_->Resolve("def"), IsOkAndHolds("def0000000000000"));
  // Fewer than 3 characters never match a prefix.
  EXPECT_THAT(index_->Resolve("de"),
              StatusIs(absl::StatusCode::kNotFound, "vm \"de\": not found"));
  EXPECT_THAT(index_->Resolve("abc"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("vm \"abc\": ambiguous id prefix"),
                             HasSubstr("abc1000000000000 (web)"),
                             HasSubstr("abc2000000000000 (db)"))));
  EXPECT_THAT(index_->Resolve("nothing"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(IndexTest, ResolveIgnoresNamesWhoseRecordDoesNotCarryThem) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web")));
  // A link left by a crash in the middle of a rename: web2 -> VM 1, but VM 1
  // is still called web.
  ASSERT_EQ(::symlink(TestId(1).c_str(), Db("names/web2").c_str()), 0);
  EXPECT_THAT(index_->Resolve("web2"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(IndexTest, ListIsSortedByName) {
  EXPECT_THAT(Names(), ::testing::IsEmpty());
  ASSERT_OK(index_->Reserve(TestVm(TestId(3), "b")));
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "c")));
  ASSERT_OK(index_->Reserve(TestVm(TestId(2), "a")));
  EXPECT_THAT(Names(), ::testing::ElementsAre("a", "b", "c"));
}

TEST_F(IndexTest, ListSkipsTempAndCorruptFiles) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "a")));
  ASSERT_EQ(::symlink("x", Db("vms/." + TestId(2) + ".pb.tmp-abc").c_str()), 0);
  FILE* f = std::fopen(Db("vms/" + TestId(3) + ".pb").c_str(), "w");
  std::fputs("\xff\xff garbage", f);
  std::fclose(f);
  // A record file that cannot even be read.
  ASSERT_EQ(::mkdir(Db("vms/" + TestId(4) + ".pb").c_str(), 0700), 0);
  EXPECT_THAT(Names(), ::testing::ElementsAre("a"));
}

TEST_F(IndexTest, OperationsOnOtherVmsDoNotWaitForAHeldLock) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "busy")));
  ASSERT_OK(index_->Reserve(TestVm(TestId(2), "free")));
  // Another process is in the middle of a read-modify-write of VM 1.
  ASSERT_OK_AND_ASSIGN(
      FileLock held,
      FileLock::Acquire(Db("locks/" + TestId(1)), absl::Seconds(1)));
  absl::Time start = absl::Now();
  EXPECT_OK(index_
                ->Update(TestId(2),
                         [](Vm& vm) {
                           vm.set_state(Vm::STOPPED);
                           return absl::OkStatus();
                         })
                .status());
  EXPECT_OK(index_->Reserve(TestVm(TestId(3), "new")));
  EXPECT_OK(index_->PutAll({TestVm(TestId(4), "put")}));
  EXPECT_OK(index_->Delete(TestId(3)));
  // Reads never lock, not even the busy VM.
  EXPECT_OK(index_->Get(TestId(1)).status());
  EXPECT_THAT(index_->Resolve("busy"), IsOkAndHolds(TestId(1)));
  EXPECT_THAT(Names(), ::testing::ElementsAre("busy", "free", "put"));
  // Generous bound: each of these is a few fsyncs, never a lock wait.
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
  // Whereas VM 1 itself waits (here: until our lock is dropped).
  std::thread releaser([&] {
    absl::SleepFor(absl::Milliseconds(100));
    FileLock gone = std::move(held);
  });
  absl::Time before = absl::Now();
  EXPECT_OK(
      index_->Update(TestId(1), [](Vm&) { return absl::OkStatus(); }).status());
  EXPECT_GE(absl::Now() - before, absl::Milliseconds(90));
  releaser.join();
}

TEST_F(IndexTest, PutAllInsertsAndUpserts) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web", Vm::CREATING)));
  Vm web = TestVm(TestId(1), "web", Vm::STOPPED);
  web.set_run_dir("/run/x");
  ASSERT_OK(index_->PutAll({web, TestVm(TestId(2), "db")}));
  ASSERT_OK_AND_ASSIGN(Vm got, index_->Get(TestId(1)));
  EXPECT_EQ(got.state(), Vm::STOPPED);
  EXPECT_EQ(got.run_dir(), "/run/x");
  EXPECT_THAT(index_->Resolve("db"), IsOkAndHolds(TestId(2)));
  // Upsert is idempotent.
  ASSERT_OK(index_->PutAll({web, TestVm(TestId(2), "db")}));
  EXPECT_THAT(Names(), ::testing::ElementsAre("db", "web"));
}

TEST_F(IndexTest, PutAllIsAllOrNothingOnNameConflict) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web")));
  EXPECT_THAT(
      index_->PutAll({TestVm(TestId(2), "a"), TestVm(TestId(3), "web")}),
      StatusIs(absl::StatusCode::kAlreadyExists,
               "vm \"web\": name already used by " + TestId(1)));
  EXPECT_THAT(Names(), ::testing::ElementsAre("web"));
  EXPECT_FALSE(Exists(Db("names/a")));
  EXPECT_FALSE(Exists(Db("locks/" + TestId(2))));
  EXPECT_FALSE(Exists(Db("locks/" + TestId(3))));
}

TEST_F(IndexTest, PutAllIsAllOrNothingOnInvalidRecords) {
  Vm bad = TestVm(TestId(3), "c");
  bad.mutable_config()->set_cpu(0);
  EXPECT_THAT(index_->PutAll({TestVm(TestId(2), "a"), bad}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("vm[1]")));
  EXPECT_THAT(index_->PutAll({TestVm(TestId(2), "a"), TestVm(TestId(3), "a")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("vm[1]")));
  EXPECT_THAT(index_->PutAll({TestVm(TestId(2), "a"), TestVm(TestId(2), "b")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("vm[1]")));
  EXPECT_THAT(Names(), ::testing::IsEmpty());
}

TEST_F(IndexTest, PutAllMovesNamesAlongAChain) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "a")));
  ASSERT_OK(index_->Reserve(TestVm(TestId(2), "b")));
  // 1 takes b from 2, 2 becomes c.
  ASSERT_OK(index_->PutAll({TestVm(TestId(1), "b"), TestVm(TestId(2), "c")}));
  EXPECT_THAT(index_->Resolve("b"), IsOkAndHolds(TestId(1)));
  EXPECT_THAT(index_->Resolve("c"), IsOkAndHolds(TestId(2)));
  EXPECT_THAT(index_->Resolve("a"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(Exists(Db("names/a")));
}

TEST_F(IndexTest, PutAllRefusesANameSwapCycle) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "a")));
  ASSERT_OK(index_->Reserve(TestVm(TestId(2), "b")));
  EXPECT_THAT(index_->PutAll({TestVm(TestId(1), "b"), TestVm(TestId(2), "a")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cycle")));
  EXPECT_THAT(index_->Resolve("a"), IsOkAndHolds(TestId(1)));
  EXPECT_THAT(index_->Resolve("b"), IsOkAndHolds(TestId(2)));
}

// ch-gc's delete and name removal never wait: a busy lock is Unavailable
// and changes nothing.
TEST_F(IndexTest, DeleteWithoutWaitAndDanglingNamesNeverWait) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web")));
  ASSERT_EQ(::symlink(TestId(2).c_str(), Db("names/ghost").c_str()), 0);
  EXPECT_THAT(index_->DanglingNames(),
              IsOkAndHolds(::testing::ElementsAre(
                  std::make_pair(std::string("ghost"), TestId(2)))));
  {
    ASSERT_OK_AND_ASSIGN(
        FileLock held,
        FileLock::Acquire(Db("locks/" + TestId(1)), absl::Seconds(1)));
    ASSERT_OK_AND_ASSIGN(
        FileLock held2,
        FileLock::Acquire(Db("locks/" + TestId(2)), absl::Seconds(1)));
    EXPECT_THAT(index_->Delete(TestId(1), /*wait=*/false),
                StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_THAT(index_->RemoveDanglingName("ghost", TestId(2)),
                StatusIs(absl::StatusCode::kUnavailable));
  }
  EXPECT_THAT(index_->Resolve("web"), IsOkAndHolds(TestId(1)));
  EXPECT_TRUE(Exists(Db("names/ghost")));
  // A valid name is never "dangling".
  EXPECT_THAT(index_->RemoveDanglingName("web", TestId(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_OK(index_->RemoveDanglingName("ghost", TestId(2)));
  EXPECT_FALSE(Exists(Db("names/ghost")));
  EXPECT_OK(index_->Delete(TestId(1), /*wait=*/false));
  EXPECT_THAT(index_->Get(TestId(1)).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

// A strict List fails on an unreadable record instead of skipping it.
TEST_F(IndexTest, StrictListFailsOnAnUnreadableRecord) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web")));
  {
    std::FILE* f = std::fopen(Db("vms/" + TestId(3) + ".pb").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("\xff\xff not a record", f);
    std::fclose(f);
  }
  ASSERT_OK_AND_ASSIGN(std::vector<Vm> vms, index_->List());
  EXPECT_EQ(vms.size(), 1u);
  EXPECT_THAT(index_->List(/*strict=*/true).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(TestId(3))));
}

}  // namespace
}  // namespace chtools::index
