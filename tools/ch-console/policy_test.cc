// ch-console's policy, applied in a forked child: the session's calls work,
// opening anything new kills it by SIGSYS.
#include "tools/ch-console/policy.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <functional>

#include "gtest/gtest.h"
#include "lib/sandbox/policy_testing.h"

namespace ch_console {
namespace {

using ::chtools::sandbox::testing::KilledBySigsys;

// The wait status of a child that applies BuildPolicy(), then runs `fn`
// (lib/sandbox/policy_testing.h).
int RunUnder(const std::function<bool()>& fn) {
  return ::chtools::sandbox::testing::RunUnderPolicy(BuildPolicy(), fn);
}

TEST(ChConsolePolicyTest, SessionCallsWork) {
  int master = -1, slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  EXPECT_EQ(RunUnder([&] {
              // Raw mode and back, window size, a signalfd, I/O and poll.
              termios saved, raw;
              if (::tcgetattr(slave, &saved) != 0) return false;
              raw = saved;
              ::cfmakeraw(&raw);
              winsize ws{};
              sigset_t set;
              sigemptyset(&set);
              sigaddset(&set, SIGWINCH);
              char c = 0;
              pollfd p{slave, POLLIN, 0};
              return ::tcsetattr(slave, TCSAFLUSH, &raw) == 0 &&
                     ::ioctl(slave, TIOCGWINSZ, &ws) == 0 &&
                     ::ioctl(master, TIOCSWINSZ, &ws) == 0 &&
                     ::sigprocmask(SIG_BLOCK, &set, nullptr) == 0 &&
                     ::signalfd(-1, &set, SFD_CLOEXEC) >= 0 &&
                     ::write(master, "x", 1) == 1 && ::poll(&p, 1, 1000) == 1 &&
                     ::read(slave, &c, 1) == 1 && c == 'x' &&
                     ::tcsetattr(slave, TCSAFLUSH, &saved) == 0;
            }),
            0);
  ::close(master);
  ::close(slave);
}

TEST(ChConsolePolicyTest, OpeningAnythingKills) {
  EXPECT_TRUE(KilledBySigsys(
      RunUnder([] { return ::open("/dev/null", O_RDONLY) >= 0; })));
  EXPECT_TRUE(KilledBySigsys(
      RunUnder([] { return ::socket(AF_UNIX, SOCK_STREAM, 0) >= 0; })));
  EXPECT_TRUE(KilledBySigsys(RunUnder([] {
    char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
    return ::execv(argv[0], argv) == 0;
  })));
  // Stealing the terminal's input queue (TIOCSTI) is not a terminal setting.
  EXPECT_TRUE(KilledBySigsys(RunUnder([] {
    char c = 'x';
    return ::ioctl(STDIN_FILENO, TIOCSTI, &c) == 0;
  })));
}

}  // namespace
}  // namespace ch_console
