// Tests of ch-gc's core against temp dirs: what the plan lists (and what it
// never lists: records' files, locked VMs, young leftovers), that a dry run
// changes nothing, that Collect removes exactly the plan, and that it fails
// closed on what it cannot read.
#include "tools/ch-gc/ch_gc.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/fs/flock.h"
#include "lib/index/index.h"
#include "lib/index/test_vms.h"
#include "lib/record/records.pb.h"
#include "lib/record/timestamps.h"
#include "lib/snapshot/store.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"
#include "lib/vm/op_lock.h"
#include "lib/vm/paths.h"

namespace ch_gc {
namespace {

using ::chtools::Finding;
using ::chtools::Vm;
using ::chtools::index::TestId;
using ::chtools::index::TestVm;
using ::chtools::testing::StatusIs;
using ::chtools::testing::TempDir;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const std::string kBlob1(64, '1'), kBlob2(64, '2'), kBlob3(64, '3'),
    kBlobA(64, 'a'), kBlobB(64, 'b');

bool Exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

void Write(const std::string& path, const std::string& data) {
  std::ofstream(path) << data;
}

void MakeDir(const std::string& path) {
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0) << path;
}

void SetMtime(const std::string& path, absl::Time t) {
  struct timespec ts[2] = {absl::ToTimespec(t), absl::ToTimespec(t)};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
}

// Every path under `dir`, for "nothing changed" checks.
std::set<std::string> Tree(const std::string& dir) {
  std::set<std::string> out;
  std::vector<std::string> todo = {dir};
  while (!todo.empty()) {
    std::string d = todo.back();
    todo.pop_back();
    std::unique_ptr<DIR, int (*)(DIR*)> h(::opendir(d.c_str()), ::closedir);
    if (!h) continue;
    while (struct dirent* e = ::readdir(h.get())) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      std::string p = d + "/" + n;
      out.insert(p);
      struct stat st;
      if (::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        todo.push_back(p);
      }
    }
  }
  return out;
}

class GcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.set_root_dir(dir_.Join("root"));
    config_.set_run_dir(dir_.Join("run"));
    config_.set_log_dir(dir_.Join("log"));
    ASSERT_OK_AND_ASSIGN(index_,
                         chtools::index::Index::Open(dir_.Join("root")));
    ASSERT_OK_AND_ASSIGN(store_,
                         chtools::snapshot::Store::Open(dir_.Join("root")));
    MakeDir(dir_.Join("run"));
    MakeDir(dir_.Join("log"));
    MakeDir(chtools::vm::VmRunParent(config_));
    MakeDir(chtools::vm::VmLogParent(config_));
    options_.now = absl::Now();
  }

  chtools::vm::VmPaths Paths(const std::string& id) {
    return chtools::vm::PathsFor(config_, id);
  }
  // A VM's run and log dirs, as create makes them.
  void MakeVmDirs(const std::string& id) {
    MakeDir(Paths(id).run_dir);
    MakeDir(Paths(id).log_dir);
    Write(Paths(id).cow_raw, "disk");
    Write(Paths(id).log_file, "log");
  }
  absl::StatusOr<Plan> PlanIt(bool dry_run) {
    Options o = options_;
    o.dry_run = dry_run;
    return MakePlan(config_, *index_, *store_, o);
  }
  // "kind id-or-snapshot" per finding.
  static std::vector<std::string> Kinds(const Plan& plan) {
    std::vector<std::string> out;
    for (const Finding& f : plan.findings) {
      out.push_back(absl::StrCat(
          f.kind(), " ", f.vm_id().empty() ? f.snapshot_id() : f.vm_id(),
          f.repaired() ? " removed" : ""));
    }
    return out;
  }
  // A published snapshot (files listed in its record).
  void PublishSnapshot(const std::string& id, const std::string& blob) {
    std::string dir = store_->DirOf(id);
    MakeDir(dir);
    Write(dir + "/memory-ranges", "0123");
    Write(
        dir + "/snapshot.txtpb",
        absl::StrCat("snapshot { id: \"", id, "\" image_blob_ids: \"", blob,
                     "\" files { name: \"memory-ranges\" size_bytes: 4 } }\n"));
  }

  TempDir dir_;
  chtools::ToolConfig config_;
  std::unique_ptr<chtools::index::Index> index_;
  std::unique_ptr<chtools::snapshot::Store> store_;
  Options options_;
};

TEST_F(GcTest, PlansOrphansAndStaleFilesButNeverARecordsFiles) {
  // A stopped VM: its dirs and disk stay; its dead CH's files are stale.
  ASSERT_OK(index_->Reserve(TestVm(TestId(1), "kept", Vm::STOPPED)));
  MakeVmDirs(TestId(1));
  Write(Paths(TestId(1)).api_socket, "");
  Write(Paths(TestId(1)).pid_file, "999999999\n");
  // A VM with no record: both dirs are orphans.
  MakeVmDirs(TestId(2));
  // Only a log dir left.
  MakeDir(Paths(TestId(3)).log_dir);
  // Not ours: not an id.
  MakeDir(chtools::vm::VmRunParent(config_) + "/db");
  MakeDir(chtools::vm::VmRunParent(config_) + "/notes");

  std::set<std::string> before = Tree(dir_.path());
  ASSERT_OK_AND_ASSIGN(Plan plan, PlanIt(/*dry_run=*/true));
  EXPECT_THAT(
      Kinds(plan),
      ElementsAre("orphan-run-dir " + TestId(2), "orphan-log-dir " + TestId(2),
                  "orphan-log-dir " + TestId(3), "stale-socket " + TestId(1),
                  "stale-pid-file " + TestId(1)));
  EXPECT_GT(plan.findings[0].bytes(), 0);
  EXPECT_EQ(plan.findings[0].path(), Paths(TestId(2)).run_dir);
  EXPECT_THAT(plan.skipped, IsEmpty());
  EXPECT_THAT(plan.errors, IsEmpty());
  EXPECT_EQ(Tree(dir_.path()), before) << "a dry run changed something";

  ASSERT_OK_AND_ASSIGN(plan, PlanIt(/*dry_run=*/false));
  Outcome out = Collect(config_, *index_, *store_, plan, options_);
  EXPECT_THAT(out.errors, IsEmpty());
  EXPECT_THAT(out.skipped, IsEmpty());
  for (const Finding& f : plan.findings) EXPECT_TRUE(f.repaired()) << f.kind();
  EXPECT_FALSE(Exists(Paths(TestId(2)).run_dir));
  EXPECT_FALSE(Exists(Paths(TestId(2)).log_dir));
  EXPECT_FALSE(Exists(Paths(TestId(3)).log_dir));
  EXPECT_FALSE(Exists(Paths(TestId(1)).api_socket));
  EXPECT_FALSE(Exists(Paths(TestId(1)).pid_file));
  EXPECT_TRUE(Exists(Paths(TestId(1)).cow_raw));
  EXPECT_TRUE(Exists(Paths(TestId(1)).log_file));
  EXPECT_TRUE(Exists(chtools::vm::VmRunParent(config_) + "/db"));
  EXPECT_TRUE(Exists(chtools::vm::VmRunParent(config_) + "/notes"));
  EXPECT_OK(index_->Get(TestId(1)).status());

  ASSERT_OK_AND_ASSIGN(plan, PlanIt(/*dry_run=*/false));
  EXPECT_THAT(Kinds(plan), IsEmpty());
}

// A create or a clone holds the VM's operation lock for its whole length,
// before any record exists: its dirs are never a finding, in a plan or when
// the lock is taken between the plan and the removal.
TEST_F(GcTest, ALockedVmIsSkippedNeverCollected) {
  MakeVmDirs(TestId(4));
  {
    ASSERT_OK_AND_ASSIGN(std::optional<chtools::fs::FileLock> held,
                         chtools::vm::TryLockVm(config_, TestId(4)));
    ASSERT_TRUE(held.has_value());
    for (bool dry : {true, false}) {
      ASSERT_OK_AND_ASSIGN(Plan plan, PlanIt(dry));
      EXPECT_THAT(Kinds(plan), IsEmpty());
      EXPECT_THAT(plan.skipped, ElementsAre(HasSubstr(TestId(4))));
    }
  }
  ASSERT_OK_AND_ASSIGN(Plan plan, PlanIt(false));
  ASSERT_THAT(Kinds(plan), ElementsAre("orphan-run-dir " + TestId(4),
                                       "orphan-log-dir " + TestId(4)));
  ASSERT_OK_AND_ASSIGN(std::optional<chtools::fs::FileLock> held,
                       chtools::vm::TryLockVm(config_, TestId(4)));
  Outcome out = Collect(config_, *index_, *store_, plan, options_);
  EXPECT_THAT(out.skipped, ElementsAre(HasSubstr("holds its lock"),
                                       HasSubstr("holds its lock")));
  EXPECT_TRUE(Exists(Paths(TestId(4)).run_dir));
  EXPECT_TRUE(Exists(Paths(TestId(4)).log_dir));
  EXPECT_FALSE(plan.findings[0].repaired());
}

// A record written between the plan and the removal (a create finishing)
// protects its dirs: Collect re-checks under the lock.
TEST_F(GcTest, ARecordAppearingAfterThePlanProtectsTheDirs) {
  MakeVmDirs(TestId(5));
  ASSERT_OK_AND_ASSIGN(Plan plan, PlanIt(false));
  ASSERT_EQ(plan.findings.size(), 2u);
  ASSERT_OK(index_->Reserve(TestVm(TestId(5), "late", Vm::CREATED)));
  Outcome out = Collect(config_, *index_, *store_, plan, options_);
  EXPECT_THAT(out.skipped,
              ElementsAre(HasSubstr("record now"), HasSubstr("record now")));
  EXPECT_TRUE(Exists(Paths(TestId(5)).cow_raw));
}

// A file another VM's record names is never removed with an orphan dir: the
// dir is left alone and the run fails (exit 1).
TEST_F(GcTest, AnOrphanDirHoldingAFileARecordNamesIsLeftAlone) {
  MakeVmDirs(TestId(30));
  Write(Paths(TestId(30)).run_dir + "/vmlinuz", "kernel");
  Vm vm = TestVm(TestId(31), "uses-it", Vm::STOPPED);
  vm.mutable_boot()->set_kernel_path(Paths(TestId(30)).run_dir + "/vmlinuz");
  ASSERT_OK(index_->Reserve(vm));
  ASSERT_OK_AND_ASSIGN(Plan plan, PlanIt(false));
  EXPECT_THAT(Kinds(plan), ElementsAre("orphan-log-dir " + TestId(30)));
  EXPECT_THAT(plan.errors,
              ElementsAre(AllOf(HasSubstr("orphan-run-dir left alone"),
                                HasSubstr(TestId(31)))));
  Collect(config_, *index_, *store_, plan, options_);
  EXPECT_TRUE(Exists(Paths(TestId(30)).run_dir + "/vmlinuz"));
  EXPECT_FALSE(Exists(Paths(TestId(30)).log_dir));
}

TEST_F(GcTest, StaleCreatingPlaceholdersOnlyPastTheGrace) {
  Vm old_vm = TestVm(TestId(6), "old", Vm::CREATING);
  old_vm.set_updated_at(
      chtools::record::FormatTime(options_.now - absl::Hours(25)));
  ASSERT_OK(index_->Reserve(old_vm));
  MakeVmDirs(TestId(6));
  Vm young = TestVm(TestId(7), "young", Vm::CREATING);
  young.set_updated_at(
      chtools::record::FormatTime(options_.now - absl::Hours(23)));
  ASSERT_OK(index_->Reserve(young));
  MakeVmDirs(TestId(7));

  ASSERT_OK_AND_ASSIGN(Plan plan, PlanIt(false));
  EXPECT_THAT(Kinds(plan), ElementsAre("stale-creating " + TestId(6)));
  Outcome out = Collect(config_, *index_, *store_, plan, options_);
  EXPECT_THAT(out.errors, IsEmpty());
  EXPECT_THAT(index_->Get(TestId(6)).status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(index_->Resolve("old").status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(Exists(Paths(TestId(6)).run_dir));
  EXPECT_FALSE(Exists(Paths(TestId(6)).log_dir));
  EXPECT_OK(index_->Get(TestId(7)).status());
  EXPECT_TRUE(Exists(Paths(TestId(7)).cow_raw));

  // With a shorter grace the young one goes too.
  options_.grace = absl::Hours(1);
  ASSERT_OK_AND_ASSIGN(plan, PlanIt(true));
  EXPECT_THAT(Kinds(plan), ElementsAre("stale-creating " + TestId(7)));
}

TEST_F(GcTest, DanglingNamesAreCollected) {
  ASSERT_OK(index_->Reserve(TestVm(TestId(8), "real")));
  std::string link = index_->db_dir() + "/names/ghost";
  ASSERT_EQ(::symlink(TestId(9).c_str(), link.c_str()), 0);
  ASSERT_OK_AND_ASSIGN(Plan plan, PlanIt(false));
  ASSERT_THAT(Kinds(plan), ElementsAre("dangling-name " + TestId(9)));
  EXPECT_EQ(plan.findings[0].path(), link);
  Collect(config_, *index_, *store_, plan, options_);
  EXPECT_FALSE(Exists(link));
  EXPECT_TRUE(Exists(index_->db_dir() + "/names/real"));
}

TEST_F(GcTest, SnapshotLeftoversPastTheGraceAndBrokenSnapshots) {
  PublishSnapshot(TestId(10), kBlobA);  // good: stays
  PublishSnapshot(TestId(11), kBlobB);  // its data goes missing
  ASSERT_EQ(::unlink((store_->DirOf(TestId(11)) + "/memory-ranges").c_str()),
            0);
  MakeDir(store_->DirOf(TestId(12)));  // no record
  Write(store_->DirOf(TestId(12)) + "/state.json", "{}");
  std::string old_tmp = store_->dir() + "/.tmp-" + TestId(13);
  std::string young_tmp = store_->dir() + "/.tmp-" + TestId(14);
  std::string old_rm = store_->dir() + "/.rm-" + TestId(15);
  for (const std::string& d : {old_tmp, young_tmp, old_rm}) {
    MakeDir(d);
    Write(d + "/memory-ranges", "x");
  }
  for (const std::string& p : {old_tmp, old_tmp + "/memory-ranges", old_rm,
                               old_rm + "/memory-ranges"}) {
    SetMtime(p, options_.now - absl::Hours(30));
  }
  // Not the store's own (no snapshot id): never a finding.
  std::string foreign = store_->dir() + "/.tmp-notes";
  MakeDir(foreign);
  SetMtime(foreign, options_.now - absl::Hours(30));
  // A temp dir made long ago but written to recently is young.
  SetMtime(young_tmp, options_.now - absl::Hours(30));

  std::set<std::string> before = Tree(dir_.path());
  ASSERT_OK_AND_ASSIGN(Plan plan, PlanIt(true));
  EXPECT_THAT(Kinds(plan), ElementsAre("snapshot-rm-leftover " + TestId(15),
                                       "snapshot-temp " + TestId(13),
                                       "snapshot-data-gone " + TestId(11),
                                       "orphan-snapshot-dir " + TestId(12)));
  EXPECT_EQ(Tree(dir_.path()), before) << "a dry run changed something";

  // The store is locked (a save publishing): skipped, not waited for.
  {
    ASSERT_OK_AND_ASSIGN(std::optional<chtools::UniqueFd> lock,
                         store_->TryLockStore());
    ASSERT_TRUE(lock.has_value());
    ASSERT_OK_AND_ASSIGN(Plan locked, PlanIt(false));
    EXPECT_THAT(Kinds(locked), IsEmpty());
    EXPECT_THAT(locked.skipped, ElementsAre(HasSubstr("snapshot store")));
  }
  // The VM the broken snapshot came from lists it; it forgets it.
  Vm source = TestVm(TestId(24), "source", Vm::STOPPED);
  source.add_snapshot_ids(TestId(10));
  source.add_snapshot_ids(TestId(11));
  ASSERT_OK(index_->Reserve(source));
  {
    std::string rec = store_->DirOf(TestId(11)) + "/snapshot.txtpb";
    std::ifstream in(rec);
    std::string text((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    text.insert(text.find(" image_blob_ids"),
                absl::StrCat(" source_vm_id: \"", TestId(24), "\""));
    Write(rec, text);
  }
  ASSERT_OK_AND_ASSIGN(plan, PlanIt(false));
  Outcome out = Collect(config_, *index_, *store_, plan, options_);
  EXPECT_THAT(out.errors, IsEmpty());
  EXPECT_THAT(out.skipped, IsEmpty());
  ASSERT_OK_AND_ASSIGN(Vm after, index_->Get(TestId(24)));
  EXPECT_THAT(after.snapshot_ids(), ElementsAre(TestId(10)));
  EXPECT_THAT(Tree(store_->dir()),
              UnorderedElementsAre(
                  store_->dir() + "/.lock", foreign, young_tmp,
                  young_tmp + "/memory-ranges", store_->DirOf(TestId(10)),
                  store_->DirOf(TestId(10)) + "/memory-ranges",
                  store_->DirOf(TestId(10)) + "/snapshot.txtpb"));
}

TEST_F(GcTest, FailsClosedOnAnUnreadableRecord) {
  MakeVmDirs(TestId(16));
  Write(index_->db_dir() + "/vms/" + TestId(17) + ".pb", "\xff\xff garbage");
  EXPECT_THAT(PlanIt(false).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(TestId(17))));
  EXPECT_THAT(Pins(*index_, *store_).status(),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_TRUE(Exists(Paths(TestId(16)).run_dir));
}

TEST_F(GcTest, FailsClosedOnAnUnreadableDir) {
  MakeDir(Paths(TestId(18)).run_dir);
  if (::geteuid() == 0) {
    // root reads a 000 dir anyway: make it unreadable by making it a file.
    ASSERT_EQ(::rmdir(chtools::vm::VmLogParent(config_).c_str()), 0);
    Write(chtools::vm::VmLogParent(config_), "not a dir");
  } else {
    ASSERT_EQ(::chmod(chtools::vm::VmLogParent(config_).c_str(), 0), 0);
  }
  absl::Status s = PlanIt(false).status();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(chtools::vm::VmLogParent(config_)));
  EXPECT_TRUE(Exists(Paths(TestId(18)).run_dir));
}

TEST_F(GcTest, FailsClosedOnAnUnreadableSnapshotRecord) {
  MakeDir(store_->DirOf(TestId(19)));
  Write(store_->DirOf(TestId(19)) + "/snapshot.txtpb", "snapshot { bogus: 1 }");
  EXPECT_FALSE(PlanIt(false).ok());
  EXPECT_FALSE(Pins(*index_, *store_).ok());
  EXPECT_TRUE(Exists(store_->DirOf(TestId(19))));
}

TEST_F(GcTest, PinsAreTheUnionOfVmAndSnapshotPins) {
  Vm a = TestVm(TestId(20), "a", Vm::CREATING);
  a.add_image_blob_ids(kBlob1);
  a.add_image_blob_ids(kBlob2);
  ASSERT_OK(index_->Reserve(a));
  Vm b = TestVm(TestId(21), "b", Vm::STOPPED);
  b.add_image_blob_ids(kBlob2);
  ASSERT_OK(index_->Reserve(b));
  PublishSnapshot(TestId(22), kBlob3);
  MakeDir(store_->DirOf(TestId(23)));  // no record: pins nothing
  ASSERT_OK_AND_ASSIGN(auto pins, Pins(*index_, *store_));
  std::vector<std::string> blobs;
  for (const auto& [blob, by] : pins) blobs.push_back(blob);
  EXPECT_THAT(blobs, ElementsAre(kBlob1, kBlob2, kBlob3));
  EXPECT_THAT(pins[kBlob2], UnorderedElementsAre(HasSubstr(TestId(20)),
                                                 HasSubstr(TestId(21))));
  EXPECT_THAT(pins[kBlob3], ElementsAre(HasSubstr(TestId(22))));
}

}  // namespace
}  // namespace ch_gc
