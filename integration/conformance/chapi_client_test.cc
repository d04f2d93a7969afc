// lib/chapi against the CH simulator: every typed call through a VM's life,
// timeouts, a simulator killed mid-call, and WaitForApiSocket on a real start.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/sim/sim_fixture.h"
#include "lib/chapi/client.h"
#include "lib/process/ch_process.h"
#include "lib/testing/status_matchers.h"

namespace chtools::chapi {
namespace {

using ::chtools::conformance::BootableConfig;
using ::chtools::conformance::MakeRawDisk;
using ::chtools::conformance::Sim;
using ::chtools::conformance::SimOptions;
using ::chtools::testing::StatusIs;
using ::nlohmann::json;
using ::testing::HasSubstr;

TEST(ClientSimTest, EveryCallThroughALifecycle) {
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start());
  Client& c = sim->client();
  ASSERT_OK(c.Ping());
  ASSERT_OK_AND_ASSIGN(json ping, c.VmmPing());
  EXPECT_EQ(ping["pid"], sim->child().pid());
  EXPECT_TRUE(IsVmNotCreated(c.Info().status()));

  json config = BootableConfig(sim->dir());
  config["cpus"] = {{"boot_vcpus", 1}, {"max_vcpus", 2}};
  ASSERT_OK(c.Create(config));
  MakeRawDisk(sim->Join("extra.raw"));
  ASSERT_OK_AND_ASSIGN(json cold, c.AddDisk({{"path", sim->Join("extra.raw")},
                                             {"readonly", true}}));
  EXPECT_TRUE(cold.is_null()) << "config-only VM: 204, no id yet";
  ASSERT_OK(c.Boot());
  ASSERT_OK_AND_ASSIGN(json info, c.Info());
  EXPECT_EQ(info["state"], "Running");
  EXPECT_EQ(info["config"]["disks"][1]["id"], "_disk1");

  ASSERT_OK(c.Resume()) << "already running counts as success";
  ASSERT_OK(c.Pause());
  ASSERT_OK(c.Pause()) << "already paused counts as success";
  ASSERT_OK_AND_ASSIGN(info, c.Info());
  EXPECT_EQ(info["state"], "Paused");
  std::string snap = sim->Join("snap");
  ASSERT_EQ(mkdir(snap.c_str(), 0700), 0);
  ASSERT_OK(c.Snapshot("file://" + snap));
  ASSERT_OK(c.Resume());
  ASSERT_OK(c.Resume());

  MakeRawDisk(sim->Join("hot.raw"));
  ASSERT_OK_AND_ASSIGN(json dev, c.AddDisk({{"path", sim->Join("hot.raw")}}));
  EXPECT_EQ(dev["id"], "_disk2");
  EXPECT_TRUE(dev["bdf"].is_string());
  ASSERT_OK(c.RemoveDevice("_disk2"));
  EXPECT_THAT(
      c.RemoveDevice("_nope"),
      StatusIs(absl::StatusCode::kUnknown, HasSubstr("Failed to find device")));
  ASSERT_OK(c.Resize(2, std::nullopt));
  EXPECT_THAT(c.Resize(64, std::nullopt),
              StatusIs(absl::StatusCode::kUnknown,
                       HasSubstr("Requested vCPUs exceed maximum")));
  ASSERT_OK_AND_ASSIGN(json counters, c.Counters());
  EXPECT_TRUE(counters.contains("_disk0")) << counters.dump();

  ASSERT_OK(c.Reboot());
  ASSERT_OK(c.Shutdown());
  ASSERT_OK_AND_ASSIGN(info, c.Info());
  EXPECT_EQ(info["state"], "Created");
  EXPECT_THAT(
      c.Pause(),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               "vm.pause: HTTP 500: Error from API: The VM could not be "
               "paused: VM is not running"));
  ASSERT_OK(c.Delete());
  EXPECT_TRUE(IsVmNotCreated(c.Info().status()));
  ASSERT_OK(c.Restore("file://" + snap));
  ASSERT_OK_AND_ASSIGN(info, c.Info());
  EXPECT_EQ(info["state"], "Paused");
  ASSERT_OK(c.PowerButton());  // accepted while paused; seen after resume
  ASSERT_OK(c.ShutdownVmm());
  EXPECT_EQ(sim->WaitExit(), process::ExitInfo::Exited(0));
}

TEST(ClientSimTest, FailingResumeIsNotSwallowed) {
  SimOptions o;
  o.extra_env = {"CHSIM_FAIL_RESUME=1"};
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start(o));
  ASSERT_OK(sim->client().Create(BootableConfig(sim->dir())));
  ASSERT_OK(sim->client().Boot());
  ASSERT_OK(sim->client().Pause());
  absl::Status s = sim->client().Resume();
  EXPECT_FALSE(s.ok());
  ASSERT_TRUE(GetChError(s).has_value());
  EXPECT_EQ(GetChError(s)->chain[1], "The VM could not resume");
}

class SlowSnapshotTest : public ::testing::Test {
 protected:
  void Start(const std::string& knob) {
    SimOptions o;
    o.extra_env = {knob};
    auto s = Sim::Start(o);
    ASSERT_OK(s.status());
    sim_ = *std::move(s);
    ASSERT_OK(sim_->client().Create(BootableConfig(sim_->dir())));
    ASSERT_OK(sim_->client().Boot());
    ASSERT_OK(sim_->client().Pause());
    dest_ = sim_->Join("snap");
    ASSERT_EQ(mkdir(dest_.c_str(), 0700), 0);
  }
  std::unique_ptr<Sim> sim_;
  std::string dest_;
};

TEST_F(SlowSnapshotTest, SnapshotTimeout) {
  Start("CHSIM_SNAPSHOT_DELAY_MS=10000");
  Client c(sim_->api_socket(), absl::Milliseconds(100));
  c.set_long_timeout(absl::Milliseconds(500));
  absl::Time start = absl::Now();
  EXPECT_THAT(c.Snapshot("file://" + dest_),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(500));
  EXPECT_LT(took, absl::Seconds(9)) << "gave up before the simulator answered";
}

TEST_F(SlowSnapshotTest, SnapshotOutlivesTheShortTimeout) {
  Start("CHSIM_SNAPSHOT_DELAY_MS=800");
  Client c(sim_->api_socket(), absl::Milliseconds(200));
  EXPECT_OK(c.Snapshot("file://" + dest_));
}

TEST_F(SlowSnapshotTest, SimulatorKilledMidCall) {
  Start("CHSIM_SNAPSHOT_DELAY_MS=10000");
  std::thread killer([&] {
    absl::SleepFor(absl::Milliseconds(300));
    (void)sim_->child().Signal(SIGKILL);
  });
  absl::Time start = absl::Now();
  absl::Status s = sim_->client().Snapshot("file://" + dest_);
  killer.join();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable,
                          HasSubstr("may or may not have been carried out")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(9));
  EXPECT_EQ(sim_->WaitExit(), process::ExitInfo::Signaled(SIGKILL));
}

TEST_F(SlowSnapshotTest, SimulatorCrashingInSnapshot) {
  Start("CHSIM_CRASH_IN_SNAPSHOT=1");
  EXPECT_THAT(sim_->client().Snapshot("file://" + dest_),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(sim_->WaitExit(), process::ExitInfo::Signaled(SIGKILL));
  EXPECT_THAT(sim_->client().Ping(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(WaitForApiSocketSimTest, SlowBind) {
  SimOptions o;
  o.extra_env = {"CHSIM_BIND_DELAY_MS=700"};
  o.wait = false;
  absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start(o));
  ASSERT_OK(WaitForApiSocket(sim->api_socket(), sim->child().pidfd(),
                             absl::Seconds(20)));
  absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(700));
  EXPECT_LT(took, absl::Seconds(15));
  EXPECT_OK(sim->client().Ping());
}

TEST(WaitForApiSocketSimTest, ExitBeforeReadyFailsEarly) {
  SimOptions o;
  o.wait = false;
  o.extra_env = {"CHSIM_BIND_DELAY_MS=300"};
  o.args = {"--kernel", "/nonexistent/k", "--disk", "path=/x,bogus=1"};
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start(o));
  // Exits 1 after binding; the stale socket never accepts.
  absl::Status s = WaitForApiSocket(sim->api_socket(), sim->child().pidfd(),
                                    absl::Seconds(30));
  absl::StatusOr<std::optional<process::ExitInfo>> exit =
      sim->child().WaitFor(absl::Seconds(10));
  ASSERT_OK(exit.status());
  EXPECT_EQ(*exit, process::ExitInfo::Exited(1));
  // The socket may have accepted during the short window before the exit
  // (v51 binds before parsing); after the exit it must not.
  if (s.ok()) {
    EXPECT_THAT(sim->client().Ping(), StatusIs(absl::StatusCode::kUnavailable));
  } else {
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  }
}

TEST(FindChProcessSimTest, FindsTheSimulatorAsTheListenerOfItsSocket) {
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start());
  // No pid file at all: the process listening on api.sock is the one.
  ASSERT_OK_AND_ASSIGN(
      process::ChProcess ch,
      process::FindChProcess(sim->Join("api.sock"), sim->Join("ch.pid"), {}));
  EXPECT_EQ(ch.pid(), sim->child().pid());
  ASSERT_OK(ch.Signal(SIGTERM));
  ASSERT_OK_AND_ASSIGN(bool exited, ch.WaitExit(absl::Seconds(10)));
  EXPECT_TRUE(exited);
  EXPECT_EQ(sim->WaitExit(), process::ExitInfo::Exited(0));
  EXPECT_THAT(
      process::FindChProcess(sim->Join("api.sock"), sim->Join("ch.pid"), {})
          .status(),
      StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace chtools::chapi
