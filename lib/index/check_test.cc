// Tests for Index::Check: each finding kind, report-only vs repair.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/stubs/logging.h"
#include "gtest/gtest.h"
#include "lib/fs/atomic_file.h"
#include "lib/fs/flock.h"
#include "lib/index/index.h"
#include "lib/index/test_vms.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::index {

using ::chtools::fs::FileLock;
using ::chtools::fs::WriteFileAtomically;
namespace {

using ::chtools::testing::IsOkAndHolds;
using ::chtools::testing::StatusIs;
using ::chtools::testing::TempDir;

bool Exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

// "kind vm_id repaired" per finding, for compact expectations.
std::vector<std::string> Summary(const std::vector<Finding>& findings) {
  std::vector<std::string> out;
  for (const Finding& f : findings) {
    out.push_back(f.kind() + " " + f.vm_id() +
                  (f.repaired() ? " repaired" : ""));
  }
  return out;
}

class CheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Index>> index = Index::Open(dir_.path());
    ASSERT_OK(index.status());
    index_ = *std::move(index);
  }
  std::string Db(const std::string& rel) const {
    return index_->db_dir() + "/" + rel;
  }
  std::vector<std::string> Run(bool repair, const CheckContext& ctx = {}) {
    absl::StatusOr<std::vector<Finding>> f = index_->Check(repair, ctx);
    if (!f.ok()) return {"error: " + f.status().ToString()};
    return Summary(*f);
  }
  // Writes a record file directly, bypassing the index (to build states that
  // only tampering or a crash could make).
  void WriteRaw(const Vm& vm) {
    std::string data;
    vm.SerializeToString(&data);
    ASSERT_OK(WriteFileAtomically(Db("vms/" + vm.id() + ".pb"), data));
  }

  TempDir dir_;
  std::unique_ptr<Index> index_;
};

TEST_F(CheckTest, CleanIndexHasNoFindings) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web", Vm::CREATING)));
  ASSERT_OK(index_->Reserve(TestVm(TestId(2), "db")));
  EXPECT_THAT(Run(false), ::testing::IsEmpty());
  EXPECT_THAT(Run(true), ::testing::IsEmpty());
}

TEST_F(CheckTest, DanglingNameReportedThenRepaired) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web")));
  ASSERT_EQ(::symlink(TestId(9).c_str(), Db("names/gone").c_str()), 0);
  ASSERT_EQ(::symlink(TestId(1).c_str(), Db("names/web-old").c_str()), 0);
  EXPECT_THAT(Run(false), ::testing::ElementsAre("dangling-name " + TestId(9),
                                                 "dangling-name " + TestId(1)));
  EXPECT_TRUE(Exists(Db("names/gone")));  // nothing changes without repair
  EXPECT_THAT(Run(true), ::testing::ElementsAre(
                             "dangling-name " + TestId(9) + " repaired",
                             "dangling-name " + TestId(1) + " repaired"));
  EXPECT_FALSE(Exists(Db("names/gone")));
  EXPECT_FALSE(Exists(Db("locks/" + TestId(9))));
  EXPECT_THAT(Run(false), ::testing::IsEmpty());
  EXPECT_THAT(index_->Resolve("web"), IsOkAndHolds(TestId(1)));
}

TEST_F(CheckTest, BusyLockMeansInFlightAndIsLeftAlone) {
  ASSERT_EQ(::symlink(TestId(9).c_str(), Db("names/new").c_str()), 0);
  ASSERT_OK_AND_ASSIGN(
      FileLock lock,
      FileLock::Acquire(Db("locks/" + TestId(9)), absl::Seconds(1)));
  EXPECT_THAT(Run(true), ::testing::IsEmpty());
  EXPECT_TRUE(Exists(Db("names/new")));
}

TEST_F(CheckTest, StaleTempAndOrphanLock) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web")));
  std::string temp = Db("vms/." + TestId(2) + ".pb.tmp-Ab12Cd");
  int fd = ::open(temp.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  fd = ::open(Db("locks/" + TestId(3)).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC,
              0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_THAT(Run(false), ::testing::ElementsAre("stale-temp " + TestId(2),
                                                 "orphan-lock " + TestId(3)));
  EXPECT_TRUE(Exists(temp));
  EXPECT_THAT(Run(true),
              ::testing::ElementsAre("stale-temp " + TestId(2) + " repaired",
                                     "orphan-lock " + TestId(3) + " repaired"));
  EXPECT_FALSE(Exists(temp));
  EXPECT_FALSE(Exists(Db("locks/" + TestId(3))));
  EXPECT_FALSE(Exists(Db("locks/" + TestId(2))));
  EXPECT_THAT(Run(false), ::testing::IsEmpty());
}

// What a Delete killed after removing the record leaves: a dangling name and
// the lock file. Without repair both are reported and nothing is removed.
TEST_F(CheckTest, InterruptedDeleteIsReportedWithoutChangingAnything) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web")));
  ASSERT_OK_AND_ASSIGN(
      FileLock lock,
      FileLock::Acquire(Db("locks/" + TestId(1)), absl::Seconds(1)));
  ASSERT_EQ(::unlink(Db("vms/" + TestId(1) + ".pb").c_str()), 0);
  { FileLock released = std::move(lock); }
  EXPECT_THAT(Run(false), ::testing::ElementsAre("dangling-name " + TestId(1),
                                                 "orphan-lock " + TestId(1)));
  EXPECT_TRUE(Exists(Db("names/web")));
  EXPECT_TRUE(Exists(Db("locks/" + TestId(1))));
  EXPECT_THAT(Run(true), ::testing::ElementsAre("dangling-name " + TestId(1) +
                                                " repaired"));
  EXPECT_FALSE(Exists(Db("names/web")));
  EXPECT_FALSE(Exists(Db("locks/" + TestId(1))));
  EXPECT_THAT(Run(false), ::testing::IsEmpty());
}

TEST_F(CheckTest, BadRecordIsQuarantined) {
  ASSERT_OK(
      WriteFileAtomically(Db("vms/" + TestId(4) + ".pb"), "\xff\xff\xff"));
  Vm other = TestVm(TestId(6), "x");
  WriteRaw(other);
  ASSERT_EQ(::rename(Db("vms/" + TestId(6) + ".pb").c_str(),
                     Db("vms/" + TestId(5) + ".pb").c_str()),
            0);
  EXPECT_THAT(Run(false), ::testing::ElementsAre("bad-record " + TestId(4),
                                                 "bad-record " + TestId(5)));
  EXPECT_THAT(Run(true),
              ::testing::ElementsAre("bad-record " + TestId(4) + " repaired",
                                     "bad-record " + TestId(5) + " repaired"));
  EXPECT_FALSE(Exists(Db("vms/" + TestId(4) + ".pb")));
  EXPECT_TRUE(Exists(Db("quarantine")));
  EXPECT_THAT(Run(false), ::testing::IsEmpty());
}

// A record written before validation refused invalid UTF-8: protobuf wrote
// it but cannot read it back. Its name still points to it. fsck reports it
// (and goes on with the rest) instead of failing; repair quarantines it and
// then frees the name.
TEST_F(CheckTest, UnreadableRecordWithANameIsReportedNotFatal) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "web")));
  Vm bad = TestVm(TestId(2), "db");
  bad.mutable_config()->set_image("ubuntu\xff");
  {
    google::protobuf::LogSilencer quiet;
    WriteRaw(bad);
  }
  ASSERT_EQ(::symlink(TestId(2).c_str(), Db("names/db").c_str()), 0);
  // And a record path that cannot be read at all.
  ASSERT_EQ(::mkdir(Db("vms/" + TestId(3) + ".pb").c_str(), 0700), 0);
  ASSERT_EQ(::symlink(TestId(3).c_str(), Db("names/dir").c_str()), 0);
  google::protobuf::LogSilencer quiet;
  EXPECT_THAT(Run(false), ::testing::ElementsAre("bad-record " + TestId(2),
                                                 "bad-record " + TestId(3)));
  EXPECT_TRUE(Exists(Db("names/db")));
  EXPECT_THAT(index_->Resolve("web"), IsOkAndHolds(TestId(1)));
  EXPECT_THAT(Run(true), ::testing::ElementsAre(
                             "bad-record " + TestId(2) + " repaired",
                             "bad-record " + TestId(3) + " repaired",
                             "dangling-name " + TestId(2) + " repaired",
                             "dangling-name " + TestId(3) + " repaired"));
  EXPECT_FALSE(Exists(Db("names/db")));
  EXPECT_THAT(Run(false), ::testing::IsEmpty());
  EXPECT_THAT(index_->Resolve("web"), IsOkAndHolds(TestId(1)));
}

TEST_F(CheckTest, UnclaimedAndDuplicateNames) {
  WriteRaw(TestVm(TestId(1), "lonely"));
  EXPECT_THAT(Run(false),
              ::testing::ElementsAre("unclaimed-name " + TestId(1)));
  EXPECT_THAT(Run(true), ::testing::ElementsAre("unclaimed-name " + TestId(1) +
                                                " repaired"));
  EXPECT_THAT(index_->Resolve("lonely"), IsOkAndHolds(TestId(1)));
  EXPECT_THAT(Run(false), ::testing::IsEmpty());

  WriteRaw(TestVm(TestId(2), "lonely"));  // a second record with that name
  EXPECT_THAT(Run(true), ::testing::ElementsAre("duplicate-name " + TestId(2)));
}

TEST_F(CheckTest, StaleCreatingIsDeletedOnRepair) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "half", Vm::CREATING)));
  ASSERT_OK(index_->Reserve(TestVm(TestId(2), "done", Vm::CREATED)));
  CheckContext ctx;
  EXPECT_THAT(Run(false, ctx), ::testing::IsEmpty());  // young: in flight
  ctx.now = absl::Now() + absl::Hours(25);
  EXPECT_THAT(Run(false, ctx),
              ::testing::ElementsAre("stale-creating " + TestId(1)));
  EXPECT_THAT(Run(true, ctx), ::testing::ElementsAre("stale-creating " +
                                                     TestId(1) + " repaired"));
  EXPECT_THAT(index_->Get(TestId(1)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(Exists(Db("names/half")));
  EXPECT_OK(index_->Get(TestId(2)).status());
  EXPECT_THAT(Run(false, ctx), ::testing::IsEmpty());
}

TEST_F(CheckTest, RunAndLogDirs) {
  std::string run_parent = dir_.Join("run");
  std::string log_parent = dir_.Join("log");
  ASSERT_EQ(::mkdir(run_parent.c_str(), 0750), 0);
  ASSERT_EQ(::mkdir(log_parent.c_str(), 0750), 0);
  Vm vm = TestVm(TestId(1), "web");
  vm.set_run_dir(run_parent + "/" + TestId(1));
  vm.set_log_dir(log_parent + "/" + TestId(1));
  ASSERT_OK(index_->PutAll({vm}));
  ASSERT_EQ(::mkdir((log_parent + "/" + TestId(1)).c_str(), 0750), 0);
  ASSERT_EQ(::mkdir((run_parent + "/" + TestId(8)).c_str(), 0750), 0);
  ASSERT_EQ(::mkdir((run_parent + "/db").c_str(), 0750), 0);  // reserved
  CheckContext ctx;
  ctx.vm_run_parent = run_parent;
  ctx.vm_log_parent = log_parent;
  EXPECT_THAT(Run(true, ctx),
              ::testing::ElementsAre("missing-run-dir " + TestId(1),
                                     "orphan-run-dir " + TestId(8)));
  // Directories are never removed here.
  EXPECT_TRUE(Exists(run_parent + "/" + TestId(8)));
}

TEST_F(CheckTest, StateMismatchAgainstLiveProcesses) {
  ASSERT_OK(index_->PutAll({TestVm(TestId(1), "ghost", Vm::RUNNING),
                            TestVm(TestId(2), "zombie", Vm::STOPPED),
                            TestVm(TestId(3), "fine", Vm::RUNNING)}));
  CheckContext ctx;
  ctx.is_alive = [](const Vm& vm) { return vm.id() != TestId(1); };
  EXPECT_THAT(Run(false, ctx),
              ::testing::ElementsAre("state-mismatch " + TestId(1),
                                     "state-mismatch " + TestId(2)));
  EXPECT_THAT(Run(true, ctx), ::testing::ElementsAre(
                                  "state-mismatch " + TestId(1) + " repaired",
                                  "state-mismatch " + TestId(2) + " repaired"));
  ASSERT_OK_AND_ASSIGN(Vm ghost, index_->Get(TestId(1)));
  EXPECT_EQ(ghost.state(), Vm::STOPPED);
  EXPECT_FALSE(ghost.stopped_at().empty());
  ASSERT_OK_AND_ASSIGN(Vm zombie, index_->Get(TestId(2)));
  EXPECT_EQ(zombie.state(), Vm::RUNNING);
  EXPECT_THAT(Run(false, ctx), ::testing::IsEmpty());
}

}  // namespace
}  // namespace chtools::index
