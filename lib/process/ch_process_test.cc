#include "lib/process/ch_process.h"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/process/spawn.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::process {
namespace {

using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// A stand-in whose argv[0] basename is "cloud-hypervisor": a symlink to the
// shell running `sleep`, with the CH arguments as positional parameters.
class ChProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = dir_.Join("cloud-hypervisor");
    ASSERT_EQ(symlink("/bin/sh", bin_.c_str()), 0);
    run_dir_ = dir_.Join("run");
    ASSERT_EQ(mkdir(run_dir_.c_str(), 0700), 0);
  }

  Child StartFake(const std::vector<std::string>& ch_args) {
    SpawnOptions o;
    o.argv = {bin_, "-c", "sleep 100; :", "sh"};
    o.argv.insert(o.argv.end(), ch_args.begin(), ch_args.end());
    absl::StatusOr<Child> child = Spawn(o);
    EXPECT_OK(child.status());
    return *std::move(child);
  }

  static bool StillRunning(Child& c) {
    absl::StatusOr<std::optional<ExitInfo>> r = c.WaitFor(absl::ZeroDuration());
    return r.ok() && !r->has_value();
  }

  testing::TempDir dir_;
  std::string bin_;
  std::string run_dir_;
};

TEST(IsChCmdlineTest, Matches) {
  std::string cl("/usr/bin/cloud-hypervisor\0--api-socket\0/r/api.sock\0", 52);
  EXPECT_TRUE(IsChCmdline(cl, "cloud-hypervisor", "/r/api.sock"));
  EXPECT_TRUE(IsChCmdline(cl, "/opt/ch/cloud-hypervisor", "/r/api.sock"));
  EXPECT_FALSE(IsChCmdline(cl, "cloud-hypervisor", "/other/api.sock"));
  EXPECT_FALSE(IsChCmdline(cl, "qemu", "/r/api.sock"));
  // Substrings do not count (cocoon's check was a substring search).
  EXPECT_FALSE(IsChCmdline(cl, "cloud-hyper", "/r/api.sock"));
  EXPECT_FALSE(IsChCmdline(cl, "cloud-hypervisor", "/r/api.soc"));
  std::string path_form("cloud-hypervisor\0--api-socket\0path=/r/api.sock", 46);
  EXPECT_TRUE(IsChCmdline(path_form, "cloud-hypervisor", "/r/api.sock"));
  // argv[0] itself is not an argument that names the socket.
  std::string only0("/r/api.sock\0", 12);
  EXPECT_FALSE(IsChCmdline(only0, "api.sock", "/r/api.sock"));
  EXPECT_FALSE(IsChCmdline("", "cloud-hypervisor", "/r/api.sock"));
}

TEST_F(ChProcessTest, FindsTheLiveProcessAndSignalsIt) {
  std::string sock = run_dir_ + "/api.sock";
  Child child = StartFake({"--api-socket", sock});
  WriteFile(run_dir_ + "/ch.pid", absl::StrCat(child.pid(), "\n"));
  ASSERT_OK_AND_ASSIGN(ChProcess ch, FindChProcess(run_dir_, "cloud-hypervisor"));
  EXPECT_EQ(ch.pid(), child.pid());
  EXPECT_GE(ch.pidfd(), 0);
  EXPECT_TRUE(ch.Alive());
  ASSERT_OK_AND_ASSIGN(bool exited, ch.WaitExit(absl::Milliseconds(20)));
  EXPECT_FALSE(exited);
  ASSERT_OK(ch.Signal(SIGTERM));
  ASSERT_OK_AND_ASSIGN(exited, ch.WaitExit(absl::Seconds(10)));
  EXPECT_TRUE(exited);
  EXPECT_FALSE(ch.Alive());
  ASSERT_OK_AND_ASSIGN(ExitInfo e, child.Wait());
  EXPECT_EQ(e, ExitInfo::Signaled(SIGTERM));
  // Dead now (reaped): the same pid file finds nothing.
  EXPECT_THAT(FindChProcess(run_dir_, "cloud-hypervisor").status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ChProcessTest, TrailingSlashAndPathForm) {
  Child child = StartFake({"--api-socket", "path=" + run_dir_ + "/api.sock"});
  WriteFile(run_dir_ + "/ch.pid", absl::StrCat(child.pid()));
  ASSERT_OK_AND_ASSIGN(ChProcess ch,
                       FindChProcess(run_dir_ + "/", "/usr/bin/cloud-hypervisor"));
  EXPECT_EQ(ch.pid(), child.pid());
}

TEST_F(ChProcessTest, UnrelatedLiveProcessIsNotFoundAndNeverSignalled) {
  SpawnOptions o;
  o.argv = {"sleep", "100"};
  ASSERT_OK_AND_ASSIGN(Child sleeper, Spawn(o));
  WriteFile(run_dir_ + "/ch.pid", absl::StrCat(sleeper.pid()));
  EXPECT_THAT(FindChProcess(run_dir_, "cloud-hypervisor").status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr(absl::StrCat("pid ", sleeper.pid(), " is not "
                                              "cloud-hypervisor"))));
  EXPECT_TRUE(StillRunning(sleeper));
}

TEST_F(ChProcessTest, ChServingAnotherVmIsNotFound) {
  Child other = StartFake({"--api-socket", dir_.Join("other/api.sock")});
  WriteFile(run_dir_ + "/ch.pid", absl::StrCat(other.pid()));
  EXPECT_THAT(FindChProcess(run_dir_, "cloud-hypervisor").status(),
              StatusIs(absl::StatusCode::kNotFound));
  // Right socket but another binary name.
  Child mine = StartFake({"--api-socket", run_dir_ + "/api.sock"});
  WriteFile(run_dir_ + "/ch.pid", absl::StrCat(mine.pid()));
  EXPECT_THAT(FindChProcess(run_dir_, "firecracker").status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_TRUE(StillRunning(other));
  EXPECT_TRUE(StillRunning(mine));
}

TEST_F(ChProcessTest, MissingPidFile) {
  EXPECT_THAT(FindChProcess(run_dir_, "cloud-hypervisor").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no pid file")));
}

TEST_F(ChProcessTest, GarbagePidFile) {
  for (const char* text : {"", "abc", "12abc", "-5", "0", "99999999999999",
                           "1 2"}) {
    WriteFile(run_dir_ + "/ch.pid", text);
    EXPECT_THAT(FindChProcess(run_dir_, "cloud-hypervisor").status(),
                StatusIs(absl::StatusCode::kNotFound, HasSubstr("holds no pid")))
        << "pid file: '" << text << "'";
  }
}

TEST_F(ChProcessTest, DeadPid) {
  SpawnOptions o;
  o.argv = {"true"};
  ASSERT_OK_AND_ASSIGN(Child c, Spawn(o));
  pid_t pid = c.pid();
  ASSERT_OK(c.Wait().status());
  WriteFile(run_dir_ + "/ch.pid", absl::StrCat(pid));
  EXPECT_THAT(FindChProcess(run_dir_, "cloud-hypervisor").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("not running")));
}

TEST_F(ChProcessTest, ZombieIsNotAlive) {
  Child child = StartFake({"--api-socket", run_dir_ + "/api.sock"});
  WriteFile(run_dir_ + "/ch.pid", absl::StrCat(child.pid()));
  ASSERT_OK_AND_ASSIGN(ChProcess ch, FindChProcess(run_dir_, "cloud-hypervisor"));
  ASSERT_OK(ch.Signal(SIGKILL));
  // Not reaped yet: a zombie. The pidfd already reports the exit.
  ASSERT_OK_AND_ASSIGN(bool exited, ch.WaitExit(absl::Seconds(10)));
  EXPECT_TRUE(exited);
  EXPECT_THAT(FindChProcess(run_dir_, "cloud-hypervisor").status(),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace chtools::process
