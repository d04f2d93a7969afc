// ch-gc's policy, applied in a forked child: what it may and may not do ends
// as exit 0 or death by SIGSYS.
#include "tools/ch-gc/policy.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "gtest/gtest.h"
#include "lib/sandbox/policy_testing.h"
#include "lib/testing/temp_dir.h"

namespace ch_gc {
namespace {

using ::chtools::sandbox::testing::KilledBySigsys;

// The wait status of a child that applies BuildPolicy(), then runs `fn`
// (lib/sandbox/policy_testing.h).
int RunUnder(const std::function<bool()>& fn) {
  return ::chtools::sandbox::testing::RunUnderPolicy(BuildPolicy(), fn);
}

// A process to be stopped: sleeps until signalled.
pid_t Sleeper() {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::pause();
    ::_exit(0);
  }
  return pid;
}

int PidfdSignal(int pidfd, int sig) {
  return static_cast<int>(
      ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

class ChGcPolicyTest : public ::testing::Test {
 protected:
  chtools::testing::TempDir dir_;
};

TEST_F(ChGcPolicyTest, RemovesFilesAndDirs) {
  const std::string d = dir_.Join("run");
  const std::string f = dir_.Join("run/api.sock");
  EXPECT_EQ(RunUnder([&] {
              int fd = ::open(dir_.Join("lock").c_str(),
                              O_CREAT | O_RDWR | O_CLOEXEC, 0600);
              return fd >= 0 && ::mkdir(d.c_str(), 0700) == 0 &&
                     ::close(::open(f.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC,
                                    0600)) == 0 &&
                     ::unlink(f.c_str()) == 0 && ::rmdir(d.c_str()) == 0;
            }),
            0);
}

TEST_F(ChGcPolicyTest, StopsAProcessThroughAPidfdOnly) {
  for (int sig : {SIGTERM, SIGKILL}) {
    pid_t victim = Sleeper();
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, victim, 0));
    ASSERT_GE(pidfd, 0);
    EXPECT_EQ(RunUnder([&] { return PidfdSignal(pidfd, sig) == 0; }), 0) << sig;
    int status = 0;
    EXPECT_EQ(::waitpid(victim, &status, 0), victim);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << sig;
    ::close(pidfd);
  }
  pid_t victim = Sleeper();
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, victim, 0));
  // Other signals, and kill(2) by pid, are not allowed.
  EXPECT_TRUE(KilledBySigsys(
      RunUnder([&] { return PidfdSignal(pidfd, SIGSTOP) == 0; })));
  EXPECT_TRUE(
      KilledBySigsys(RunUnder([&] { return ::kill(victim, SIGTERM) == 0; })));
  // Signal 0: is it alive?
  EXPECT_EQ(RunUnder([&] { return PidfdSignal(pidfd, 0) == 0; }), 0);
  ::kill(victim, SIGKILL);
  ::waitpid(victim, nullptr, 0);
  ::close(pidfd);
}

TEST_F(ChGcPolicyTest, NoNetworkNoExec) {
  EXPECT_TRUE(KilledBySigsys(
      RunUnder([] { return ::socket(AF_INET, SOCK_STREAM, 0) >= 0; })));
  EXPECT_TRUE(KilledBySigsys(RunUnder([] {
    char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
    return ::execv(argv[0], argv) == 0;
  })));
  EXPECT_TRUE(KilledBySigsys(RunUnder([] { return ::fork() >= 0; })));
  EXPECT_EQ(RunUnder([] { return ::socket(AF_UNIX, SOCK_STREAM, 0) >= 0; }), 0);
}

}  // namespace
}  // namespace ch_gc
