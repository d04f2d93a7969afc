// Conformance: CH v51's process behaviour (docs/ch-v51.md
// §7, gotchas 1, 2, 3 and 14). Each test fails if the simulator stops
// reproducing the gotcha it is named after.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/sim/sim_fixture.h"
#include "lib/base/unique_fd.h"
#include "lib/testing/status_matchers.h"

namespace chtools::conformance {
namespace {

using ::chtools::testing::StatusIs;
using process::ExitInfo;
using ::testing::HasSubstr;

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// Gotcha 1: the socket is bound before the CLI config is even parsed; a
// failed start exits 1 and leaves the socket file behind.
TEST(Gotcha01SocketFirst, ConfigErrorExits1AndLeavesTheSocket) {
  chapi::testing::SocketDir dir;
  std::string sock = dir.Join("api.sock");
  WriteFile(dir.Join("vmlinux"), "k");
  ASSERT_OK_AND_ASSIGN(
      process::CommandResult r,
      RunSim({"--api-socket", sock, "--kernel", dir.Join("vmlinux"), "--disk",
              "path=/x.raw,bogus=1"}));
  EXPECT_EQ(r.exit, ExitInfo::Exited(1)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("Error: Cloud Hypervisor exited with the "
                               "following chain of errors:"));
  EXPECT_THAT(r.err, HasSubstr("Error parsing --disk"));
  EXPECT_THAT(r.err, HasSubstr("unknown option: bogus"));
  EXPECT_TRUE(Exists(sock)) << "v51 leaves the API socket of a failed start";
}

TEST(Gotcha01SocketFirst, BootFailureExits1AndLeavesTheSocket) {
  chapi::testing::SocketDir dir;
  std::string sock = dir.Join("api.sock");
  WriteFile(dir.Join("vmlinux"), "k");
  ASSERT_OK_AND_ASSIGN(
      process::CommandResult r,
      RunSim({"--api-socket", sock, "--kernel", dir.Join("vmlinux"), "--disk",
              "path=" + dir.Join("missing.raw")}));
  EXPECT_EQ(r.exit, ExitInfo::Exited(1)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("Cannot open disk path"));
  EXPECT_TRUE(Exists(sock));
}

TEST(Gotcha01SocketFirst, ExistingSocketPathRefusesToStart) {
  chapi::testing::SocketDir dir;
  std::string sock = dir.Join("api.sock");
  WriteFile(sock, "");  // any leftover file at the path
  ASSERT_OK_AND_ASSIGN(process::CommandResult r,
                       RunSim({"--api-socket", sock}));
  EXPECT_EQ(r.exit, ExitInfo::Exited(1));
  EXPECT_THAT(r.err, HasSubstr("Error creation API server's socket"));
  EXPECT_THAT(r.err, HasSubstr("Address already in use (os error 98)"));
}

TEST(Gotcha01SocketFirst, SlowBindKnobStillServes) {
  // CHSIM_BIND_DELAY_MS delays the bind; WaitForApiSocket must still see it.
  SimOptions o;
  o.extra_env = {"CHSIM_BIND_DELAY_MS=300"};
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start(o));
  ASSERT_OK(sim->client().Ping());
}

// docs/ch-v51.md §1.1 steps 7-8: the socket serves before main has created and
// booted the command-line VM, so an early request sees the empty Vmm, then
// the config alone (state Created), then the running VM. CHSIM_BOOT_DELAY_MS
// widens that window (N ms before create, N ms more before boot).
TEST(Gotcha01SocketFirst, EarlyRequestsSeeNoVmThenCreatedThenRunning) {
  chapi::testing::SocketDir files;
  WriteFile(files.Join("k"), "k");
  MakeRawDisk(files.Join("d.raw"));
  SimOptions o;
  o.args = {
      "--kernel",  files.Join("k"), "--disk",   "path=" + files.Join("d.raw"),
      "--console", "pty",           "--serial", "off"};
  o.extra_env = {"CHSIM_BOOT_DELAY_MS=500"};
  absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start(o));
  ASSERT_OK_AND_ASSIGN(chapi::HttpResponse first, sim->Raw("GET", "vm.info"));
  EXPECT_EQ(first.status, 500);
  EXPECT_EQ(
      first.body,
      R"(["Error from API","The VM info is not available","VM is not created"])");
  // Poll until Running, recording each new answer: no VM, Created, Running.
  std::vector<std::string> seen;
  absl::Duration running_after;
  while (absl::Now() - start < absl::Seconds(10)) {
    ASSERT_OK_AND_ASSIGN(chapi::HttpResponse r, sim->Raw("GET", "vm.info"));
    std::string what = r.status == 500 ? r.body : "";
    if (r.status == 200) {
      nlohmann::json info = nlohmann::json::parse(r.body);
      what = info["state"];
      if (what == "Created") {
        EXPECT_TRUE(info["device_tree"].is_null());
        // Consoles are made at create: the PTY path is already there.
        EXPECT_TRUE(absl::StartsWith(
            std::string(info["config"]["console"]["file"]), "/dev/pts/"))
            << info["config"]["console"];
      }
    }
    if (seen.empty() || seen.back() != what) seen.push_back(what);
    if (what == "Running") {
      running_after = absl::Now() - start;
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(
      seen,
      std::vector<std::string>(
          {R"(["Error from API","The VM info is not available","VM is not created"])",
           "Created", "Running"}));
  EXPECT_GE(running_after, absl::Milliseconds(1000))
      << "500 ms before create + 500 ms before boot";
}

TEST(Gotcha01SocketFirst, CliVmRunsAfterTheDefaultWindow) {
  chapi::testing::SocketDir files;
  WriteFile(files.Join("k"), "k");
  MakeRawDisk(files.Join("d.raw"));
  SimOptions o;
  o.args = {"--kernel",  files.Join("k"),
            "--disk",    "path=" + files.Join("d.raw"),
            "--console", "off"};
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start(o));
  ASSERT_OK(sim->WaitRunning(absl::Seconds(5)));
  ASSERT_OK_AND_ASSIGN(nlohmann::json info, sim->client().Info());
  EXPECT_EQ(info["state"], "Running");
}

// Gotcha 2: the socket is unlinked only on a clean exit.
TEST(Gotcha02UnlinkOnCleanExit, VmmShutdown) {
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start());
  ASSERT_OK(sim->client().ShutdownVmm());
  EXPECT_EQ(sim->WaitExit(), ExitInfo::Exited(0));
  EXPECT_FALSE(Exists(sim->api_socket()));
}

TEST(Gotcha02UnlinkOnCleanExit, SigtermAndSigint) {
  for (int sig : {SIGTERM, SIGINT}) {
    ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start());
    ASSERT_OK(sim->client().Create(BootableConfig(sim->dir())));
    ASSERT_OK(sim->client().Boot());
    ASSERT_OK(sim->child().Signal(sig));
    EXPECT_EQ(sim->WaitExit(), ExitInfo::Exited(0)) << "signal " << sig;
    EXPECT_FALSE(Exists(sim->api_socket())) << "signal " << sig;
  }
}

TEST(Gotcha02UnlinkOnCleanExit, SigkillLeavesTheSocket) {
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start());
  ASSERT_OK(sim->child().Signal(SIGKILL));
  EXPECT_EQ(sim->WaitExit(), ExitInfo::Signaled(SIGKILL));
  EXPECT_TRUE(Exists(sim->api_socket()));
  // ... and a stale socket refuses connections.
  EXPECT_THAT(sim->client().Ping(), StatusIs(absl::StatusCode::kUnavailable));
}

// Gotcha 3: clap usage errors exit 2; config value errors exit 1.
TEST(Gotcha03ExitCodes, RepeatedFlagIsUsageError) {
  chapi::testing::SocketDir dir;
  WriteFile(dir.Join("k"), "k");
  ASSERT_OK_AND_ASSIGN(
      process::CommandResult r,
      RunSim({"--api-socket", dir.Join("api.sock"), "--kernel", dir.Join("k"),
              "--disk", "path=/a.raw", "--disk", "path=/b.raw"}));
  EXPECT_EQ(r.exit, ExitInfo::Exited(2)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("cannot be used multiple times"));
  EXPECT_FALSE(Exists(dir.Join("api.sock"))) << "clap fails before the socket";
}

TEST(Gotcha03ExitCodes, VmConfigWithoutPayloadIsUsageError) {
  chapi::testing::SocketDir dir;
  ASSERT_OK_AND_ASSIGN(
      process::CommandResult r,
      RunSim({"--api-socket", dir.Join("api.sock"), "--cpus", "boot=2"}));
  EXPECT_EQ(r.exit, ExitInfo::Exited(2)) << r.err;
  ASSERT_OK_AND_ASSIGN(
      r, RunSim({"--api-socket", dir.Join("api.sock"), "--restore",
                 "source_url=file:///x", "--serial", "pty"}));
  EXPECT_EQ(r.exit, ExitInfo::Exited(2)) << r.err;
}

TEST(Gotcha03ExitCodes, NoArgumentsPrintsHelpAndExits2) {
  ASSERT_OK_AND_ASSIGN(process::CommandResult r, RunSim({}));
  EXPECT_EQ(r.exit, ExitInfo::Exited(2));
}

TEST(Gotcha03ExitCodes, ConfigValueErrorExits1WithChain) {
  chapi::testing::SocketDir dir;
  WriteFile(dir.Join("k"), "k");
  ASSERT_OK_AND_ASSIGN(process::CommandResult r,
                       RunSim({"--api-socket", dir.Join("api.sock"), "--kernel",
                               dir.Join("k"), "--cpus", "boot=x"}));
  EXPECT_EQ(r.exit, ExitInfo::Exited(1)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("Error parsing --cpus"));
  // v51 has no resume= on --restore: a value error (exit 1), not clap's.
  ASSERT_OK_AND_ASSIGN(
      r, RunSim({"--api-socket", dir.Join("api2.sock"), "--restore",
                 "source_url=file:///x,resume=true"}));
  EXPECT_EQ(r.exit, ExitInfo::Exited(1)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("unknown option: resume"));
}

TEST(Gotcha03ExitCodes, VersionExits0) {
  ASSERT_OK_AND_ASSIGN(process::CommandResult r, RunSim({"--version"}));
  EXPECT_EQ(r.exit, ExitInfo::Exited(0));
  EXPECT_EQ(r.out, "cloud-hypervisor v51.0\n");
}

TEST(Gotcha03ExitCodes, OptionsNotCompiledInAreUsageErrors) {
  chapi::testing::SocketDir dir;
  ASSERT_OK_AND_ASSIGN(
      process::CommandResult r,
      RunSim({"--api-socket", dir.Join("api.sock"), "--gdb", "path=/x"}));
  EXPECT_EQ(r.exit, ExitInfo::Exited(2)) << r.err;
}

TEST(Gotcha03ExitCodes, KeyValueGrammarErrorsExit1) {
  chapi::testing::SocketDir dir;
  WriteFile(dir.Join("k"), "k");
  MakeRawDisk(dir.Join("d.raw"));
  // Only the whole value is trimmed: " readonly" is an unknown key.
  ASSERT_OK_AND_ASSIGN(
      process::CommandResult r,
      RunSim({"--api-socket", dir.Join("a.sock"), "--kernel", dir.Join("k"),
              "--disk", "path=" + dir.Join("d.raw") + ", readonly=on"}));
  EXPECT_EQ(r.exit, ExitInfo::Exited(1)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("unknown option:  readonly"));
  // No T suffix for sizes.
  ASSERT_OK_AND_ASSIGN(
      r, RunSim({"--api-socket", dir.Join("b.sock"), "--kernel", dir.Join("k"),
                 "--memory", "size=1T"}));
  EXPECT_EQ(r.exit, ExitInfo::Exited(1)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("Error parsing --memory"));
}

// docs/ch-v51.md §1.4: values that parse but fail validate() exit 1 at
// start-up.
TEST(Gotcha03ExitCodes, CliValidationErrorsExit1) {
  chapi::testing::SocketDir dir;
  WriteFile(dir.Join("k"), "k");
  MakeRawDisk(dir.Join("d.raw"));
  const std::vector<std::vector<std::string>> bad = {
      {"--cpus", "boot=4,max=2"},
      {"--net", "tap=t0,num_queues=1"},
      {"--net", "tap=t0,mtu=1000"},
      {"--net", "tap=t0,ip=10.0.0.1"},
      {"--disk", "path=" + dir.Join("d.raw") + ",queue_size=2"},
      {"--disk", "path=" + dir.Join("d.raw") + ",serial=123456789012345678901"},
      {"--disk", "path=" + dir.Join("d.raw") + ",id=__reserved"},
      {"--firmware", dir.Join("k")},  // together with --kernel
  };
  int i = 0;
  for (const auto& extra : bad) {
    std::vector<std::string> argv = {"--api-socket",
                                     dir.Join(absl::StrCat("s", i++, ".sock")),
                                     "--kernel", dir.Join("k")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ASSERT_OK_AND_ASSIGN(process::CommandResult r, RunSim(argv));
    EXPECT_EQ(r.exit, ExitInfo::Exited(1))
        << extra[0] << " " << extra[1] << ": " << r.err;
    EXPECT_THAT(r.err,
                HasSubstr("Error: Cloud Hypervisor exited with the following"))
        << extra[1];
  }
}

// docs/ch-v51.md §1.1 step 1: umask 077 before anything is created.
TEST(Gotcha01SocketFirst, OwnerOnlyFiles) {
  chapi::testing::SocketDir files;
  SimOptions o;
  o.args = {"--log-file", files.Join("ch.log")};
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start(o));
  struct stat st;
  ASSERT_EQ(stat(sim->api_socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u) << std::oct << st.st_mode;
  ASSERT_EQ(stat(files.Join("ch.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << std::oct << st.st_mode;
}

// Gotcha 14: a guest power-off (here: a power button the guest honours)
// ends the whole process with exit 0 and a removed socket.
TEST(Gotcha14GuestPowerOff, PowerButtonEndsTheProcessWithExit0) {
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start());
  ASSERT_OK(sim->client().Create(BootableConfig(sim->dir())));
  ASSERT_OK(sim->client().Boot());
  ASSERT_OK(sim->client().PowerButton());  // 204 at once
  EXPECT_EQ(sim->WaitExit(), ExitInfo::Exited(0));
  EXPECT_FALSE(Exists(sim->api_socket()));
}

TEST(Gotcha14GuestPowerOff, IgnoredPowerButtonKeepsRunning) {
  SimOptions o;
  o.extra_env = {"CHSIM_IGNORE_POWER_BUTTON=1"};
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start(o));
  ASSERT_OK(sim->client().Create(BootableConfig(sim->dir())));
  ASSERT_OK(sim->client().Boot());
  ASSERT_OK(sim->client().PowerButton());
  EXPECT_EQ(sim->WaitExit(absl::Seconds(1)), std::nullopt);
  ASSERT_OK_AND_ASSIGN(nlohmann::json info, sim->client().Info());
  EXPECT_EQ(info["state"], "Running");
}

TEST(Gotcha14GuestPowerOff, PoweroffInTheGuestEndsTheProcessWithExit0) {
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start());
  nlohmann::json c = BootableConfig(sim->dir());
  c["serial"] = {{"mode", "Socket"}, {"socket", sim->Join("serial.sock")}};
  ASSERT_OK(sim->client().Create(c));
  ASSERT_OK(sim->client().Boot());
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sim->Join("serial.sock").c_str(),
               sizeof(addr.sun_path) - 1);
  ASSERT_EQ(connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
            0);
  ASSERT_EQ(write(fd.get(), "poweroff\n", 9), 9);
  EXPECT_EQ(sim->WaitExit(), ExitInfo::Exited(0));
  EXPECT_FALSE(Exists(sim->api_socket()));
  EXPECT_FALSE(Exists(sim->Join("serial.sock"))) << "removed at VM teardown";
}

}  // namespace
}  // namespace chtools::conformance
