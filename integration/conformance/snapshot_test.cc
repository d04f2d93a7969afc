// Conformance: CH v51's snapshot and restore (docs/ch-v51.md
// §7, gotchas 10, 11 and 18; §4).
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/sim/sim_fixture.h"
#include "lib/base/unique_fd.h"
#include "lib/testing/status_matchers.h"

namespace chtools::conformance {
namespace {

using ::chtools::testing::StatusIs;
using ::nlohmann::json;
using ::testing::HasSubstr;

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Sim::Start();
    ASSERT_OK(s.status());
    sim_ = *std::move(s);
    dest_ = sim_->Join("snap");
    ASSERT_EQ(mkdir(dest_.c_str(), 0700), 0);
  }
  void CreateAndBoot(absl::string_view console = "Off") {
    ASSERT_OK(sim_->client().Create(BootableConfig(sim_->dir(), console)));
    ASSERT_OK(sim_->client().Boot());
  }
  // Makes a paused, snapshotted VM in dest_.
  void Snapshot(absl::string_view console = "Off") {
    CreateAndBoot(console);
    ASSERT_OK(sim_->client().Pause());
    ASSERT_OK(sim_->client().Snapshot("file://" + dest_));
  }
  std::unique_ptr<Sim> sim_;
  std::string dest_;
};

mode_t Mode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// Gotcha 10: snapshot needs Paused, an existing directory and file://; it
// never overwrites; it writes three 0600 files; the VM stays Paused.
TEST_F(SnapshotTest, Gotcha10RequiresPaused) {
  CreateAndBoot();
  absl::Status s = sim_->client().Snapshot("file://" + dest_);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition,
                          HasSubstr("Trying to snapshot while VM is running")));
  ASSERT_TRUE(chapi::GetChError(s).has_value());
  EXPECT_EQ(
      chapi::GetChError(s)->chain,
      std::vector<std::string>(
          {"Error from API", "The VM could not be snapshotted",
           "Cannot snapshot VM", "Failed to snapshot migratable component",
           "Trying to snapshot while VM is running"}));
}

TEST_F(SnapshotTest, Gotcha10NeedsFileUrlAndExistingDirectory) {
  CreateAndBoot();
  ASSERT_OK(sim_->client().Pause());
  EXPECT_THAT(
      sim_->client().Snapshot("tcp://" + dest_),
      StatusIs(absl::StatusCode::kUnknown,
               HasSubstr("Could not extract path from URL: tcp://" + dest_)));
  EXPECT_THAT(sim_->client().Snapshot("file://" + sim_->Join("missing")),
              StatusIs(absl::StatusCode::kUnknown,
                       HasSubstr("Destination is not a directory")));
  EXPECT_EQ(access(sim_->Join("missing").c_str(), F_OK), -1)
      << "CH never creates it";
}

TEST_F(SnapshotTest, Gotcha10WritesThree0600FilesAndStaysPaused) {
  Snapshot();
  for (const char* f : {"config.json", "state.json", "memory-ranges"}) {
    EXPECT_EQ(Mode(dest_ + "/" + f), 0600u) << f;
  }
  struct stat st;
  ASSERT_EQ(stat((dest_ + "/memory-ranges").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, int64_t{64} << 20) << "memory-ranges is RAM-sized";
  // Dense, as real CH writes it (4.2 step 4): every block allocated.
  EXPECT_GE(int64_t{st.st_blocks} * 512, st.st_size)
      << "memory-ranges is dense";
  EXPECT_NE(ReadFile(dest_ + "/config.json").back(), '\n')
      << "compact, no trailing newline";
  json config = json::parse(ReadFile(dest_ + "/config.json"), nullptr, false);
  ASSERT_TRUE(config.is_object());
  EXPECT_EQ(config["disks"][0]["id"], "_disk0")
      << "the live config, with auto ids";
  json state = json::parse(ReadFile(dest_ + "/state.json"), nullptr, false);
  EXPECT_TRUE(state.is_object());
  ASSERT_OK_AND_ASSIGN(json info, sim_->client().Info());
  EXPECT_EQ(info["state"], "Paused");
}

TEST_F(SnapshotTest, Gotcha10RefusesToOverwrite) {
  Snapshot();
  absl::Status s = sim_->client().Snapshot("file://" + dest_);
  EXPECT_THAT(std::string(s.message()), HasSubstr("File exists (os error 17)"));
  ASSERT_TRUE(chapi::GetChError(s).has_value());
  EXPECT_EQ(chapi::GetChError(s)->http_status, 500);
}

// Gotcha 11: restore needs an empty Vmm, comes up Paused with a new PTY,
// ignores unknown keys, and a failed restore leaves the Vmm empty.
TEST_F(SnapshotTest, Gotcha11RestoreNeedsEmptyVmm) {
  Snapshot();
  EXPECT_THAT(
      sim_->client().Restore("file://" + dest_),
      StatusIs(
          absl::StatusCode::kFailedPrecondition,
          HasSubstr("The VM could not be restored: VM is already created")));
}

TEST_F(SnapshotTest, Gotcha11RestoreIsPausedWithANewPty) {
  Snapshot("Pty");
  ASSERT_OK_AND_ASSIGN(json before, sim_->client().Info());
  std::string old_pty = before["config"]["console"]["file"];
  // A console client still holds the old PTY, so its number stays taken.
  UniqueFd holder(open(old_pty.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(holder.valid());
  ASSERT_OK(sim_->client().ShutdownVmm());
  ASSERT_TRUE(sim_->WaitExit().has_value());

  ASSERT_OK_AND_ASSIGN(auto target, Sim::Start());
  // Unknown keys such as v52's "resume" are ignored: still Paused after.
  ASSERT_OK_AND_ASSIGN(
      chapi::HttpResponse r,
      target->Raw(
          "PUT", "vm.restore",
          json({{"source_url", "file://" + dest_}, {"resume", true}}).dump()));
  EXPECT_EQ(r.status, 204) << r.body;
  ASSERT_OK_AND_ASSIGN(json info, target->client().Info());
  EXPECT_EQ(info["state"], "Paused");
  std::string new_pty = info["config"]["console"]["file"];
  EXPECT_TRUE(absl::StartsWith(new_pty, "/dev/pts/"));
  EXPECT_NE(new_pty, old_pty);
  ASSERT_OK(target->client().Resume());
  ASSERT_OK_AND_ASSIGN(info, target->client().Info());
  EXPECT_EQ(info["state"], "Running");
}

TEST_F(SnapshotTest, Gotcha11RestoreTakesDiskLocks) {
  Snapshot();
  // The source still runs (paused) and holds the write lock on disk0.
  ASSERT_OK_AND_ASSIGN(auto target, Sim::Start());
  absl::Status s = target->client().Restore("file://" + dest_);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("Another instance likely holds a lock"))
      << s;
  // Failed restore: the Vmm is empty again, so a retry is possible.
  EXPECT_TRUE(chapi::IsVmNotCreated(target->client().Info().status()));
  ASSERT_OK(sim_->client().ShutdownVmm());
  ASSERT_TRUE(sim_->WaitExit().has_value());
  EXPECT_OK(target->client().Restore("file://" + dest_));
}

TEST_F(SnapshotTest, Gotcha11FailedRestoreLeavesVmmEmpty) {
  Snapshot();
  ASSERT_OK(sim_->client().ShutdownVmm());
  ASSERT_TRUE(sim_->WaitExit().has_value());
  ASSERT_OK_AND_ASSIGN(auto target, Sim::Start());
  std::string broken = target->Join("broken");
  ASSERT_EQ(mkdir(broken.c_str(), 0700), 0);
  WriteFile(broken + "/config.json", ReadFile(dest_ + "/config.json"));
  WriteFile(broken + "/state.json", ReadFile(dest_ + "/state.json"));
  // No memory-ranges.
  absl::Status s = target->client().Restore("file://" + broken);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("Error opening snapshot file"))
      << s;
  EXPECT_TRUE(chapi::IsVmNotCreated(target->client().Info().status()));
  s = target->client().Restore("file://" + target->Join("nothing-here"));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("Destination is not a directory"))
      << s;
  EXPECT_OK(target->client().Restore("file://" + dest_));
}

// docs/ch-v51.md §4.5: config.json may be edited before restore (how clones
// point at their own disk copies); the copy is opened, the source's file is
// not.
TEST_F(SnapshotTest, RestoreUsesEditedDiskPaths) {
  Snapshot();
  std::string copy = sim_->Join("clone.raw");
  WriteFile(copy, ReadFile(sim_->Join("disk0.raw")));
  json config = json::parse(ReadFile(dest_ + "/config.json"), nullptr, false);
  ASSERT_TRUE(config.is_object());
  config["disks"][0]["path"] = copy;
  WriteFile(dest_ + "/config.json", config.dump());
  // The source is still alive and paused, holding its lock on disk0.raw.
  ASSERT_OK_AND_ASSIGN(auto clone, Sim::Start());
  ASSERT_OK(clone->client().Restore("file://" + dest_));
  ASSERT_OK_AND_ASSIGN(json info, clone->client().Info());
  EXPECT_EQ(info["config"]["disks"][0]["path"], copy);
  bool has_copy = false, has_source = false;
  std::string fd_dir = absl::StrCat("/proc/", clone->child().pid(), "/fd");
  for (const auto& e : std::filesystem::directory_iterator(fd_dir)) {
    std::error_code ec;
    std::string target = std::filesystem::read_symlink(e.path(), ec).string();
    has_copy |= target == copy;
    has_source |= target == sim_->Join("disk0.raw");
  }
  EXPECT_TRUE(has_copy);
  EXPECT_FALSE(has_source);
}

TEST_F(SnapshotTest, RestoreWithAMissingDiskFailsAndLeavesVmmEmpty) {
  Snapshot();
  json config = json::parse(ReadFile(dest_ + "/config.json"), nullptr, false);
  config["disks"][0]["path"] = sim_->Join("gone.raw");
  WriteFile(dest_ + "/config.json", config.dump());
  ASSERT_OK_AND_ASSIGN(auto clone, Sim::Start());
  absl::Status s = clone->client().Restore("file://" + dest_);
  EXPECT_THAT(std::string(s.message()), HasSubstr("Cannot open disk path"))
      << s;
  EXPECT_TRUE(chapi::IsVmNotCreated(clone->client().Info().status()));
}

// Gotcha 18: after a snapshot, vm.boot used as resume re-creates the
// console outputs (a new PTY); vm.resume keeps them.
TEST_F(SnapshotTest, Gotcha18BootAfterSnapshotRecreatesConsoles) {
  Snapshot("Pty");
  ASSERT_OK_AND_ASSIGN(json info, sim_->client().Info());
  std::string pty = info["config"]["console"]["file"];
  ASSERT_OK(sim_->client().Boot());
  ASSERT_OK_AND_ASSIGN(info, sim_->client().Info());
  EXPECT_EQ(info["state"], "Running");
  EXPECT_NE(info["config"]["console"]["file"], pty);
}

TEST_F(SnapshotTest, Gotcha18ResumeAfterSnapshotKeepsConsoles) {
  Snapshot("Pty");
  ASSERT_OK_AND_ASSIGN(json info, sim_->client().Info());
  std::string pty = info["config"]["console"]["file"];
  ASSERT_OK(sim_->client().Resume());
  ASSERT_OK_AND_ASSIGN(info, sim_->client().Info());
  EXPECT_EQ(info["state"], "Running");
  EXPECT_EQ(info["config"]["console"]["file"], pty);
}

}  // namespace
}  // namespace chtools::conformance
