#include "lib/process/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/unique_fd.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::process {
namespace {

using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;

absl::StatusOr<ExitInfo> RunAndWait(std::vector<std::string> argv) {
  SpawnOptions o;
  o.argv = std::move(argv);
  absl::StatusOr<Child> child = Spawn(o);
  if (!child.ok()) return child.status();
  return child->Wait();
}

TEST(SpawnTest, ExitCodes) {
  ASSERT_OK_AND_ASSIGN(ExitInfo e, RunAndWait({"true"}));
  EXPECT_EQ(e, ExitInfo::Exited(0));
  ASSERT_OK_AND_ASSIGN(e, RunAndWait({"sh", "-c", "exit 3"}));
  EXPECT_EQ(e, ExitInfo::Exited(3));
  EXPECT_EQ(e.ToExitCode(), 3);
}

TEST(SpawnTest, KilledBySignalIs128PlusSignal) {
  ASSERT_OK_AND_ASSIGN(ExitInfo e, RunAndWait({"sh", "-c", "kill -TERM $$"}));
  EXPECT_EQ(e, ExitInfo::Signaled(SIGTERM));
  EXPECT_EQ(e.ToExitCode(), 128 + SIGTERM);
}

TEST(SpawnTest, SignalThroughPidfdAndWaitFor) {
  SpawnOptions o;
  o.argv = {"sleep", "100"};
  ASSERT_OK_AND_ASSIGN(Child child, Spawn(o));
  EXPECT_GE(child.pidfd(), 0);
  ASSERT_OK_AND_ASSIGN(std::optional<ExitInfo> early,
                       child.WaitFor(absl::Milliseconds(50)));
  EXPECT_FALSE(early.has_value());
  ASSERT_OK(child.Signal(SIGKILL));
  ASSERT_OK_AND_ASSIGN(std::optional<ExitInfo> done,
                       child.WaitFor(absl::Seconds(10)));
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(*done, ExitInfo::Signaled(SIGKILL));
  EXPECT_EQ(done->ToExitCode(), 137);
  // Reaped: no second wait, no signal to whoever gets the pid next.
  EXPECT_THAT(child.Wait(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(child.Signal(SIGTERM),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(SpawnTest, ChildSignalMaskAndIgnoredSignalsAreReset) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, &old), 0);
  SpawnOptions o;
  o.argv = {"sleep", "100"};
  absl::StatusOr<Child> child = Spawn(o);
  sigprocmask(SIG_SETMASK, &old, nullptr);
  ASSERT_OK(child.status());
  ASSERT_OK(child->Signal(SIGTERM));
  ASSERT_OK_AND_ASSIGN(ExitInfo e, child->Wait());
  EXPECT_EQ(e, ExitInfo::Signaled(SIGTERM));
}

TEST(SpawnTest, MissingBinaryIsAStatusNotAChild) {
  SpawnOptions o;
  o.argv = {"/nonexistent/dir/cloud-hypervisor", "--api-socket", "x"};
  EXPECT_THAT(Spawn(o).status(),
              StatusIs(absl::StatusCode::kNotFound,
                       "exec /nonexistent/dir/cloud-hypervisor: No such file "
                       "or directory"));
  o.argv = {"no-such-program-in-path-xyz"};
  EXPECT_THAT(
      Spawn(o).status(),
      StatusIs(absl::StatusCode::kNotFound,
               HasSubstr("no-such-program-in-path-xyz: not found in PATH")));
}

TEST(SpawnTest, NonExecutableFileIsPermissionDenied) {
  testing::TempDir dir;
  std::string path = dir.Join("script");
  { std::ofstream(path) << "#!/bin/sh\nexit 0\n"; }
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  SpawnOptions o;
  o.argv = {path};
  EXPECT_THAT(Spawn(o).status(), StatusIs(absl::StatusCode::kPermissionDenied,
                                          HasSubstr("exec " + path)));
}

TEST(SpawnTest, EmptyArgvIsInvalid) {
  EXPECT_THAT(Spawn(SpawnOptions{}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SpawnTest, BadCwdIsAStatus) {
  SpawnOptions o;
  o.argv = {"true"};
  o.cwd = "/nonexistent-cwd";
  EXPECT_THAT(Spawn(o).status(),
              StatusIs(absl::StatusCode::kNotFound,
                       "chdir /nonexistent-cwd: No such file or directory"));
}

TEST(SpawnTest, EnvCwdAndCapture) {
  testing::TempDir dir;
  SpawnOptions o;
  o.argv = {"sh", "-c", "echo \"$FOO\"; pwd; echo oops >&2; exit 4"};
  o.env = {"FOO=bar baz", "PATH=/usr/bin:/bin"};
  o.cwd = dir.path();
  ASSERT_OK_AND_ASSIGN(CommandResult r, RunCommand(o));
  EXPECT_EQ(r.exit, ExitInfo::Exited(4));
  char real[PATH_MAX];
  ASSERT_NE(realpath(dir.path().c_str(), real), nullptr);
  EXPECT_EQ(r.out, absl::StrCat("bar baz\n", real, "\n"));
  EXPECT_EQ(r.err, "oops\n");
}

TEST(SpawnTest, EmptyEnvInherits) {
  ASSERT_EQ(setenv("CHTOOLS_SPAWN_TEST", "inherited", 1), 0);
  ASSERT_OK_AND_ASSIGN(CommandResult r,
                       RunCommand({"sh", "-c", "echo $CHTOOLS_SPAWN_TEST"}));
  EXPECT_EQ(r.out, "inherited\n");
}

TEST(SpawnTest, RunCommandLargeOutput) {
  ASSERT_OK_AND_ASSIGN(CommandResult r,
                       RunCommand({"head", "-c", "1000000", "/dev/zero"}));
  EXPECT_EQ(r.exit, ExitInfo::Exited(0));
  EXPECT_EQ(r.out.size(), 1000000u);
}

TEST(SpawnTest, RunCommandTimeoutKillsTheChild) {
  absl::Time start = absl::Now();
  absl::StatusOr<CommandResult> r =
      RunCommand({"sleep", "100"}, absl::Milliseconds(200));
  EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kDeadlineExceeded,
                                   "sleep: timed out after 200ms"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
}

TEST(SpawnTest, RunCommandDoesNotWaitForADaemonHoldingThePipe) {
  // The grandchild keeps stdout open; the command itself is done.
  ASSERT_OK_AND_ASSIGN(CommandResult r,
                       RunCommand({"sh", "-c", "echo hi; sleep 30 & exit 0"},
                                  absl::Seconds(20)));
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_EQ(r.exit, ExitInfo::Exited(0));
}

TEST(SpawnTest, StdFdsAndExtraFdMapping) {
  int p[2], q[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(q, O_CLOEXEC), 0);
  UniqueFd pr(p[0]), pw(p[1]), qr(q[0]), qw(q[1]);
  SpawnOptions o;
  o.argv = {"sh", "-c", "echo to-stdout; echo to-five >&5"};
  o.stdout_fd = pw.get();
  // A target that is also a source fd number must not be clobbered.
  o.extra_fds = {{qw.get(), 5}};
  ASSERT_OK_AND_ASSIGN(Child child, Spawn(o));
  ASSERT_OK_AND_ASSIGN(ExitInfo e, child.Wait());
  EXPECT_EQ(e, ExitInfo::Exited(0));
  pw.reset();
  qw.reset();
  char buf[100];
  ssize_t n = read(pr.get(), buf, sizeof(buf));
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "to-stdout\n");
  n = read(qr.get(), buf, sizeof(buf));
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "to-five\n");
  o.extra_fds = {{qw.get(), 1}};
  EXPECT_THAT(Spawn(o).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SpawnTest, InheritedFdsWithoutCloexecDoNotLeak) {
  int fd = open("/dev/null", O_RDONLY);  // deliberately no O_CLOEXEC
  ASSERT_GE(fd, 0);
  ASSERT_EQ(dup2(fd, 77), 77);
  close(fd);
  ASSERT_OK_AND_ASSIGN(CommandResult r,
                       RunCommand({"sh", "-c",
                                   "if [ -e /proc/self/fd/77 ]; then echo "
                                   "leaked; else echo clean; fi"}));
  close(77);
  EXPECT_EQ(r.out, "clean\n");
}

TEST(SpawnTest, NewSession) {
  SpawnOptions o;
  o.argv = {"sleep", "100"};
  o.new_session = true;
  ASSERT_OK_AND_ASSIGN(Child child, Spawn(o));
  // Spawn returns after exec, so setsid has happened.
  std::ifstream stat(absl::StrCat("/proc/", child.pid(), "/stat"));
  std::string line;
  std::getline(stat, line);
  // Fields after "(comm)": state ppid pgrp session ...
  std::vector<std::string> f =
      absl::StrSplit(line.substr(line.rfind(')') + 2), ' ');
  ASSERT_GE(f.size(), 4u);
  EXPECT_EQ(f[3], absl::StrCat(child.pid()));
  EXPECT_NE(getsid(0), child.pid());
}

TEST(SpawnTest, DestructorKillsAndReaps) {
  pid_t pid;
  {
    SpawnOptions o;
    o.argv = {"sleep", "100"};
    ASSERT_OK_AND_ASSIGN(Child child, Spawn(o));
    pid = child.pid();
  }
  // Reaped, so the pid no longer exists (not even as a zombie).
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST(SpawnTest, DetachLeavesTheChildRunning) {
  SpawnOptions o;
  o.argv = {"sleep", "100"};
  pid_t pid;
  {
    ASSERT_OK_AND_ASSIGN(Child child, Spawn(o));
    pid = child.Detach();
    EXPECT_EQ(child.pidfd(), -1);
  }
  EXPECT_EQ(kill(pid, 0), 0);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
}

std::string NetnsOf(const std::string& pid) {
  char buf[256];
  ssize_t n = readlink(absl::StrCat("/proc/", pid, "/ns/net").c_str(), buf,
                       sizeof(buf));
  return n > 0 ? std::string(buf, n) : "";
}

TEST(SpawnTest, JoinsNetworkNamespaceBeforeExec) {
  // A holder process in a fresh netns (unshare -n works in the sandbox as
  // root); its first output line means the unshare is done.
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  UniqueFd pr(p[0]), pw(p[1]);
  SpawnOptions holder_opts;
  holder_opts.argv = {"unshare", "-n", "sh", "-c",
                      "echo ready; exec sleep 100"};
  holder_opts.stdout_fd = pw.get();
  ASSERT_OK_AND_ASSIGN(Child holder, Spawn(holder_opts));
  pw.reset();
  char buf[16];
  ASSERT_EQ(read(pr.get(), buf, 6), 6) << "unshare -n failed";
  std::string ns_path = absl::StrCat("/proc/", holder.pid(), "/ns/net");
  std::string want = NetnsOf(absl::StrCat(holder.pid()));
  ASSERT_FALSE(want.empty());
  ASSERT_NE(want, NetnsOf("self"));

  SpawnOptions o;
  o.argv = {"readlink", "/proc/self/ns/net"};
  o.netns_path = ns_path;
  ASSERT_OK_AND_ASSIGN(CommandResult r, RunCommand(o));
  EXPECT_EQ(r.out, want + "\n");
  // The caller itself stays where it was.
  EXPECT_NE(NetnsOf("self"), want);
}

TEST(SpawnTest, SetnsFailureIsAStatus) {
  testing::TempDir dir;
  std::string not_ns = dir.Join("plain-file");
  { std::ofstream(not_ns) << "x"; }
  SpawnOptions o;
  o.argv = {"true"};
  o.netns_path = not_ns;
  EXPECT_THAT(Spawn(o).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "setns " + not_ns + ": Invalid argument"));
  o.netns_path = dir.Join("missing");
  EXPECT_THAT(Spawn(o).status(), StatusIs(absl::StatusCode::kNotFound,
                                          HasSubstr("open " + o.netns_path)));
}

}  // namespace
}  // namespace chtools::process
