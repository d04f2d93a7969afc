#include "lib/process/ch_process.h"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/fs/unix_socket.h"
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
    WriteFile(Disk(), "");
  }

  Child StartFake(const std::vector<std::string>& ch_args) {
    SpawnOptions o;
    // Holds the VM's disk open, as CH does.
    o.argv = {bin_, "-c", "exec 3<\"$0\"; sleep 100; :", Disk()};
    o.argv.insert(o.argv.end(), ch_args.begin(), ch_args.end());
    absl::StatusOr<Child> child = Spawn(o);
    EXPECT_OK(child.status());
    WaitHolds(child->pid());
    return *std::move(child);
  }

  // Until the shell has opened the disk.
  void WaitHolds(pid_t pid) {
    for (int i = 0; i < 500; ++i) {
      char buf[4096];
      ssize_t n = ::readlink(absl::StrCat("/proc/", pid, "/fd/3").c_str(), buf,
                             sizeof(buf));
      if (n > 0 && std::string(buf, n) == Disk()) return;
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  static bool StillRunning(Child& c) {
    absl::StatusOr<std::optional<ExitInfo>> r = c.WaitFor(absl::ZeroDuration());
    return r.ok() && !r->has_value();
  }

  std::string Sock() const { return run_dir_ + "/api.sock"; }
  std::string Disk() const { return run_dir_ + "/cow.raw"; }
  absl::StatusOr<ChProcess> Find() const {
    return FindChProcess(Sock(), Pid(), {Disk()});
  }
  std::string Pid() const { return run_dir_ + "/ch.pid"; }

  // Short paths: the API socket must fit in sun_path.
  testing::TempDir dir_{"/tmp"};
  std::string bin_;
  std::string run_dir_;
};

TEST(CmdlineNamesSocketTest, Matches) {
  std::string cl(
      "cloud-hypervisor\0--api-socket\0/r/api.sock\0--cpus\0boot=2\0", 52);
  EXPECT_TRUE(CmdlineNamesSocket(cl, "/r/api.sock"));
  EXPECT_FALSE(CmdlineNamesSocket(cl, "/other/api.sock"));
  // Substrings do not count (cocoon's check was a substring search).
  EXPECT_FALSE(CmdlineNamesSocket(cl, "/r/api.soc"));
  std::string path_form("x\0--api-socket\0path=/r/api.sock", 31);
  EXPECT_TRUE(CmdlineNamesSocket(path_form, "/r/api.sock"));
  std::string flag_form("x\0--api-socket=/r/api.sock", 26);
  EXPECT_TRUE(CmdlineNamesSocket(flag_form, "/r/api.sock"));
  // argv[0] itself is not an argument that names the socket.
  std::string only0("/r/api.sock\0", 12);
  EXPECT_FALSE(CmdlineNamesSocket(only0, "/r/api.sock"));
  EXPECT_FALSE(CmdlineNamesSocket("", "/r/api.sock"));
}

TEST_F(ChProcessTest, FindsTheLiveProcessAndSignalsIt) {
  Child child = StartFake({"--api-socket", Sock()});
  WriteFile(Pid(), absl::StrCat(child.pid(), "\n"));
  ASSERT_OK_AND_ASSIGN(ChProcess ch, Find());
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
  EXPECT_THAT(Find().status(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ChProcessTest, PathFormAndAnyBinaryName) {
  // A wrapper or renamed binary: argv[0] is not "cloud-hypervisor".
  SpawnOptions o;
  o.argv = {"sh",   "-c",           "exec 3<\"$0\"; sleep 100; :",
            Disk(), "--api-socket", "path=" + Sock()};
  ASSERT_OK_AND_ASSIGN(Child child, Spawn(o));
  WaitHolds(child.pid());
  WriteFile(Pid(), absl::StrCat(child.pid()));
  ASSERT_OK_AND_ASSIGN(ChProcess ch, Find());
  EXPECT_EQ(ch.pid(), child.pid());
}

// A process that listens on `sock` with `argv_sock` in its argv; waits until
// it accepts.
Child StartListener(const std::string& sock, const std::string& argv_sock) {
  SpawnOptions o;
  // The socket's path comes in the environment, so only `argv_sock` is in
  // the argv.
  o.argv = {"python3", "-c",
            "import os,socket,time\n"
            "s=socket.socket(socket.AF_UNIX)\ns.bind(os.environ['SOCK'])\ns."
            "listen(8)\n"
            "time.sleep(100)\n",
            "--api-socket", argv_sock};
  o.env = {"SOCK=" + sock, "PATH=/usr/bin:/bin"};
  absl::StatusOr<Child> child = Spawn(o);
  EXPECT_OK(child.status());
  for (int i = 0; i < 500; ++i) {
    if (fs::ConnectUnix(sock).ok()) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return *std::move(child);
}

TEST_F(ChProcessTest, TheListenerIsFoundWithoutAPidFile) {
  Child ch = StartListener(Sock(), Sock());
  ASSERT_OK_AND_ASSIGN(ChProcess p, Find());
  EXPECT_EQ(p.pid(), ch.pid());
  // A decoy pid file does not change who serves the socket.
  SpawnOptions o;
  o.argv = {"sleep", "100"};
  ASSERT_OK_AND_ASSIGN(Child sleeper, Spawn(o));
  WriteFile(Pid(), absl::StrCat(sleeper.pid()));
  ASSERT_OK_AND_ASSIGN(p, Find());
  EXPECT_EQ(p.pid(), ch.pid());
}

TEST_F(ChProcessTest, AListenerThatCannotBeProvenOursBlocks) {
  Child other = StartListener(Sock(), dir_.Join("elsewhere.sock"));
  EXPECT_THAT(Find().status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(absl::StrCat("pid ", other.pid()))));
  EXPECT_TRUE(StillRunning(other));
}

TEST_F(ChProcessTest, NamingTheSocketIsNotEnoughWithoutTheDisk) {
  // A process that carries the socket's path but neither serves it nor holds
  // the VM's disk (a decoy) is never counted.
  SpawnOptions o;
  o.argv = {"sh", "-c", "sleep 100; :", "decoy", Sock()};
  ASSERT_OK_AND_ASSIGN(Child decoy, Spawn(o));
  WriteFile(Pid(), absl::StrCat(decoy.pid()));
  EXPECT_THAT(Find().status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("holds none of the VM's disks")));
  EXPECT_TRUE(StillRunning(decoy));
}

TEST_F(ChProcessTest, UnrelatedLiveProcessIsNotFoundAndNeverSignalled) {
  SpawnOptions o;
  o.argv = {"sleep", "100"};
  ASSERT_OK_AND_ASSIGN(Child sleeper, Spawn(o));
  WriteFile(Pid(), absl::StrCat(sleeper.pid()));
  EXPECT_THAT(Find().status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr(absl::StrCat("pid ", sleeper.pid(),
                                              " (sleep) does not name"))));
  EXPECT_TRUE(StillRunning(sleeper));
}

TEST_F(ChProcessTest, ChServingAnotherVmIsNotFound) {
  Child other = StartFake({"--api-socket", dir_.Join("other/api.sock")});
  WriteFile(Pid(), absl::StrCat(other.pid()));
  EXPECT_THAT(Find().status(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_TRUE(StillRunning(other));
}

TEST_F(ChProcessTest, MissingPidFile) {
  EXPECT_THAT(Find().status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no pid file")));
}

TEST_F(ChProcessTest, GarbagePidFile) {
  for (const char* text :
       {"", "abc", "12abc", "-5", "0", "99999999999999", "1 2"}) {
    WriteFile(Pid(), text);
    EXPECT_THAT(Find().status(), StatusIs(absl::StatusCode::kNotFound,
                                          HasSubstr("holds no pid")))
        << "pid file: '" << text << "'";
  }
}

TEST_F(ChProcessTest, DeadPid) {
  SpawnOptions o;
  o.argv = {"true"};
  ASSERT_OK_AND_ASSIGN(Child c, Spawn(o));
  pid_t pid = c.pid();
  ASSERT_OK(c.Wait().status());
  WriteFile(Pid(), absl::StrCat(pid));
  EXPECT_THAT(Find().status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("not running")));
}

TEST_F(ChProcessTest, ZombieIsNotAlive) {
  Child child = StartFake({"--api-socket", Sock()});
  WriteFile(Pid(), absl::StrCat(child.pid()));
  ASSERT_OK_AND_ASSIGN(ChProcess ch, Find());
  ASSERT_OK(ch.Signal(SIGKILL));
  // Not reaped yet: a zombie. The pidfd already reports the exit.
  ASSERT_OK_AND_ASSIGN(bool exited, ch.WaitExit(absl::Seconds(10)));
  EXPECT_TRUE(exited);
  EXPECT_THAT(Find().status(), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace chtools::process
