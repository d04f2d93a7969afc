// Conformance: CH v51's console and serial outputs (docs/ch-v51.md
// §7, gotchas 12 and 13; §5).
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/match.h"
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

void Send(int fd, absl::string_view s) {
  ASSERT_EQ(write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size()));
}

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Sim::Start();
    ASSERT_OK(s.status());
    sim_ = *std::move(s);
  }
  json SocketSerialConfig() {
    json c = BootableConfig(sim_->dir(), "Off");
    c["serial"] = {{"mode", "Socket"}, {"socket", sim_->Join("serial.sock")}};
    return c;
  }
  std::unique_ptr<Sim> sim_;
};

// A console client holding the PTY open, as ch-console would.
UniqueFd OpenPty(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) ADD_FAILURE() << "open " << path << ": " << strerror(errno);
  return fd;
}

// True once the PTY's master side is gone (the slave sees a hangup).
bool HungUp(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, 5000) > 0 && (p.revents & POLLHUP) != 0;
}

// Gotcha 12: every reboot and every shutdown+boot makes a fresh PTY: the old
// one hangs up and, while a client still holds it, the path changes.
TEST_F(ConsoleTest, Gotcha12PtyIsNewOnRebootAndShutdownBoot) {
  ASSERT_OK(sim_->client().Create(BootableConfig(sim_->dir(), "Pty")));
  ASSERT_OK(sim_->client().Boot());
  ASSERT_OK_AND_ASSIGN(json info, sim_->client().Info());
  std::string p1 = info["config"]["console"]["file"];
  UniqueFd c1 = OpenPty(p1);
  ASSERT_OK(sim_->client().Reboot());
  EXPECT_TRUE(HungUp(c1.get())) << "the old PTY is closed at reboot";
  ASSERT_OK_AND_ASSIGN(info, sim_->client().Info());
  std::string p2 = info["config"]["console"]["file"];
  EXPECT_NE(p1, p2);
  UniqueFd c2 = OpenPty(p2);
  ASSERT_OK(sim_->client().Shutdown());
  ASSERT_OK(sim_->client().Boot());
  EXPECT_TRUE(HungUp(c2.get()));
  ASSERT_OK_AND_ASSIGN(info, sim_->client().Info());
  std::string p3 = info["config"]["console"]["file"];
  EXPECT_NE(p2, p3);
  EXPECT_TRUE(absl::StartsWith(p3, "/dev/pts/"));
}

TEST_F(ConsoleTest, Gotcha12FileOutputIsTruncatedOnReboot) {
  json c = BootableConfig(sim_->dir(), "Off");
  std::string log = sim_->Join("console.log");
  c["console"] = {{"mode", "File"}, {"file", log}};
  ASSERT_OK(sim_->client().Create(c));
  ASSERT_OK(sim_->client().Boot());
  {
    FILE* f = fopen(log.c_str(), "a");
    ASSERT_NE(f, nullptr);
    fputs("MARKER-BEFORE-REBOOT\n", f);
    fclose(f);
  }
  ASSERT_OK(sim_->client().Reboot());
  EXPECT_THAT(ReadFile(log), ::testing::Not(HasSubstr("MARKER-BEFORE-REBOOT")));
}

// Gotcha 13: serial socket: CH listens, newest client wins, output without a
// client is dropped, the file goes at teardown, a leftover file fails create.
TEST_F(ConsoleTest, Gotcha13NewestClientWins) {
  ASSERT_OK(sim_->client().Create(SocketSerialConfig()));
  ASSERT_OK(sim_->client().Boot());
  UniqueFd a = ConnectUnix(sim_->Join("serial.sock"));
  Send(a.get(), "hostname\n");
  EXPECT_THAT(ReadUntil(a.get(), "root@sim:~# ", absl::Seconds(10)),
              ::testing::ContainsRegex("(^|\n)sim\r?\n"));
  UniqueFd b = ConnectUnix(sim_->Join("serial.sock"));
  bool eof = false;
  ReadUntil(a.get(), "", absl::Seconds(10), &eof);
  EXPECT_TRUE(eof) << "the older client is shut down";
  Send(b.get(), "hostname\n");
  EXPECT_THAT(ReadUntil(b.get(), "root@sim:~# ", absl::Seconds(10)),
              ::testing::ContainsRegex("(^|\n)sim\r?\n"));
}

TEST_F(ConsoleTest, Gotcha13OutputWithoutClientIsDropped) {
  ASSERT_OK(sim_->client().Create(SocketSerialConfig()));
  ASSERT_OK(sim_->client().Boot());
  // Let the guest print its boot messages and prompt to nobody.
  absl::SleepFor(absl::Milliseconds(500));
  UniqueFd a = ConnectUnix(sim_->Join("serial.sock"));
  EXPECT_EQ(ReadUntil(a.get(), "", absl::Milliseconds(500)), "")
      << "v51 drops serial output while no client is connected (v53 buffers)";
}

TEST_F(ConsoleTest, Gotcha13SocketRemovedAtTeardown) {
  ASSERT_OK(sim_->client().Create(SocketSerialConfig()));
  ASSERT_OK(sim_->client().Boot());
  struct stat st;
  ASSERT_EQ(stat(sim_->Join("serial.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  ASSERT_OK(sim_->client().Shutdown());
  EXPECT_NE(stat(sim_->Join("serial.sock").c_str(), &st), 0);
}

TEST_F(ConsoleTest, Gotcha13LeftoverSocketFileFailsCreateButKeepsConfig) {
  WriteFile(sim_->Join("serial.sock"), "");
  absl::Status s = sim_->client().Create(SocketSerialConfig());
  EXPECT_THAT(std::string(s.message()), HasSubstr("Address already in use"))
      << s;
  ASSERT_OK_AND_ASSIGN(json info, sim_->client().Info());
  EXPECT_EQ(info["state"], "Created");
  EXPECT_THAT(sim_->client().Create(SocketSerialConfig()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("already created")));
  EXPECT_OK(sim_->client().Delete());
}

// docs/ch-v51.md §5: CH copies guest bytes unchanged (its PTY is raw), and a
// Linux guest's console sends "\r\n" (tty ONLCR, the kernel console's own CR),
// so every line a client reads ends in "\r\n", never in a bare "\n".
size_t BareLineFeeds(absl::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) ++n;
  }
  return n;
}

TEST_F(ConsoleTest, GuestLinesEndInCrLfOnPtyAndSerialSocket) {
  json c = BootableConfig(sim_->dir(), "Pty");
  c["serial"] = {{"mode", "Socket"}, {"socket", sim_->Join("serial.sock")}};
  ASSERT_OK(sim_->client().Create(c));
  ASSERT_OK_AND_ASSIGN(json info, sim_->client().Info());
  UniqueFd pty = OpenPty(info["config"]["console"]["file"]);
  ASSERT_OK(sim_->client().Boot());
  // The PTY kept the boot messages for us; the answer follows them.
  Send(pty.get(), "hostname\n");
  std::string out =
      ReadUntil(pty.get(), "~# sim\r\nroot@sim:~# ", absl::Seconds(10));
  EXPECT_THAT(out, HasSubstr("] Linux version 6.1.0-chsim"));
  EXPECT_THAT(out, HasSubstr("~# sim\r\nroot@sim:~# ")) << out;
  EXPECT_EQ(BareLineFeeds(out), 0u) << out;

  UniqueFd sock = ConnectUnix(sim_->Join("serial.sock"));
  Send(sock.get(), "hostname\n");
  out = ReadUntil(sock.get(), "sim\r\nroot@sim:~# ", absl::Seconds(10));
  EXPECT_EQ(out, "sim\r\nroot@sim:~# ");
}

TEST_F(ConsoleTest, GuestLinesEndInCrLfInAFileOutput) {
  json c = BootableConfig(sim_->dir(), "Off");
  std::string log = sim_->Join("console.log");
  c["console"] = {{"mode", "File"}, {"file", log}};
  ASSERT_OK(sim_->client().Create(c));
  ASSERT_OK(sim_->client().Boot());
  std::string out = ReadFile(log);
  EXPECT_THAT(out, HasSubstr("\r\nchsim guest sim ready\r\n\r\nroot@sim:~# "))
      << out;
  EXPECT_EQ(BareLineFeeds(out), 0u) << out;
}

TEST(Gotcha13Cli, LeftoverSerialSocketExits1) {
  chapi::testing::SocketDir dir;
  WriteFile(dir.Join("k"), "k");
  MakeRawDisk(dir.Join("d.raw"));
  WriteFile(dir.Join("serial.sock"), "");
  ASSERT_OK_AND_ASSIGN(
      process::CommandResult r,
      RunSim({"--api-socket", dir.Join("api.sock"), "--kernel", dir.Join("k"),
              "--disk", "path=" + dir.Join("d.raw"), "--serial",
              "socket=" + dir.Join("serial.sock"), "--console", "off"}));
  EXPECT_EQ(r.exit, process::ExitInfo::Exited(1)) << r.err;
}

}  // namespace
}  // namespace chtools::conformance
