#include "lib/vm/boot_wait.h"

#include <deque>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/chapi/client.h"
#include "lib/process/spawn.h"
#include "lib/testing/status_matchers.h"

namespace chtools::vm {
namespace {

using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;

// vm.info answers from a script, the last one repeated.
class ScriptedApi : public chapi::Client {
 public:
  explicit ScriptedApi(std::deque<absl::StatusOr<nlohmann::json>> answers)
      : chapi::Client("/nonexistent"), answers_(std::move(answers)) {}
  absl::StatusOr<nlohmann::json> Info() override {
    ++calls;
    absl::StatusOr<nlohmann::json> a = answers_.front();
    if (answers_.size() > 1) answers_.pop_front();
    return a;
  }
  int calls = 0;

 private:
  std::deque<absl::StatusOr<nlohmann::json>> answers_;
};

absl::Status NotCreated() {
  return chapi::ChErrorStatus("vm.info", 500, R"(["VM is not created"])");
}
nlohmann::json State(const std::string& s) { return {{"state", s}}; }

process::Child Sleeper() {
  process::SpawnOptions o;
  o.argv = {"sleep", "100"};
  return *process::Spawn(o);
}

TEST(WaitRunningTest, NotCreatedAndCreatedMeanNotYet) {
  // The boot race: CH serves before it creates and boots the VM.
  ScriptedApi api(
      {NotCreated(), NotCreated(), State("Created"), State("Running")});
  process::Child ch = Sleeper();
  EXPECT_OK(
      WaitRunning(api, ch.pidfd(), absl::Now() + absl::Seconds(10), absl::Now));
  EXPECT_EQ(api.calls, 4);
}

TEST(WaitRunningTest, ACrashedBootIsReportedAtOnce) {
  ScriptedApi api({NotCreated()});
  process::SpawnOptions o;
  o.argv = {"true"};
  process::Child ch = *process::Spawn(o);
  absl::Time start = absl::Now();
  EXPECT_THAT(
      WaitRunning(api, ch.pidfd(), start + absl::Seconds(30), absl::Now),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("exited before the VM was running")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(WaitRunningTest, TimesOutNamingTheLastAnswer) {
  ScriptedApi api({State("Created")});
  process::Child ch = Sleeper();
  EXPECT_THAT(WaitRunning(api, ch.pidfd(), absl::Now() + absl::Milliseconds(50),
                          absl::Now),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("state Created")));
}

TEST(WaitRunningTest, OtherStatesAndErrorsAreFinal) {
  process::Child ch = Sleeper();
  ScriptedApi shut({State("Shutdown")});
  EXPECT_THAT(
      WaitRunning(shut, ch.pidfd(), absl::Now() + absl::Seconds(10), absl::Now),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("\"Shutdown\"")));
  ScriptedApi bad({absl::InternalError("vm.info: malformed")});
  EXPECT_THAT(
      WaitRunning(bad, ch.pidfd(), absl::Now() + absl::Seconds(10), absl::Now),
      StatusIs(absl::StatusCode::kInternal));
}

TEST(ChErrorFromLogTest, TheWholeChain) {
  EXPECT_EQ(
      ChErrorFromLog(
          "cloud-hypervisor: 1.2ms: <vmm> INFO ...\n"
          "Error: Cloud Hypervisor exited with the following chain of errors:\n"
          "  0: Error booting VM\n"
          "  1: Cannot create virtio-net device\n"
          "  2: Invalid argument (os error 22)\n"),
      "Error booting VM: Cannot create virtio-net device: Invalid argument (os "
      "error 22)");
  EXPECT_EQ(ChErrorFromLog(
                "Error: Cloud Hypervisor exited with the following error:\n"
                "  Error creating log file\n"),
            "Error creating log file");
  EXPECT_EQ(ChErrorFromLog("a\nlast line\n\n"), "last line");
  EXPECT_EQ(ChErrorFromLog(""), "");
}

}  // namespace
}  // namespace chtools::vm
