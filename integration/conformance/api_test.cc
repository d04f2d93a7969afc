// Conformance: CH v51's REST answers and state machine (docs/ch-v51.md
// §7, gotchas 4-9, 15 and 16).
#include <thread>

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

json Body(const chapi::HttpResponse& r) {
  return json::parse(r.body, nullptr, false);
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Sim::Start();
    ASSERT_OK(s.status());
    sim_ = *std::move(s);
  }
  void CreateAndBoot(absl::string_view console = "Off") {
    ASSERT_OK(sim_->client().Create(BootableConfig(sim_->dir(), console)));
    ASSERT_OK(sim_->client().Boot());
  }
  std::unique_ptr<Sim> sim_;
};

// Gotcha 4: error bodies are JSON arrays of strings; 500 for every VM-state
// error; 400 for JSON/body/method problems; 404 only for unknown paths.
TEST_F(ApiTest, Gotcha04StateErrorsAre500WithAChainArray) {
  ASSERT_OK_AND_ASSIGN(chapi::HttpResponse r, sim_->Raw("PUT", "vm.pause"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(
      r.body,
      R"(["Error from API","The VM could not be paused","VM is not running"])");
  ASSERT_OK_AND_ASSIGN(r, sim_->Raw("GET", "vm.info"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Body(r), json({"Error from API", "The VM info is not available",
                           "VM is not created"}));
  ASSERT_OK_AND_ASSIGN(r, sim_->Raw("PUT", "vm.boot"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Body(r), json({"Error from API", "The VM could not boot",
                           "VM config is missing"}));
}

TEST_F(ApiTest, Gotcha04BadJsonIs400) {
  ASSERT_OK_AND_ASSIGN(chapi::HttpResponse r,
                       sim_->Raw("PUT", "vm.create", "{not json"));
  EXPECT_EQ(r.status, 400);
  json b = Body(r);
  ASSERT_TRUE(b.is_array()) << r.body;
  ASSERT_GE(b.size(), 2u);
  EXPECT_EQ(b[0], "Failed to deserialize JSON");
}

TEST_F(ApiTest, Gotcha04BodyPresenceAndMethodAre400) {
  // A body sent to a no-body action.
  ASSERT_OK_AND_ASSIGN(chapi::HttpResponse r,
                       sim_->Raw("PUT", "vm.pause", "{}"));
  EXPECT_EQ(r.status, 400) << r.body;
  // No body for a body action.
  ASSERT_OK_AND_ASSIGN(r, sim_->Raw("PUT", "vm.snapshot"));
  EXPECT_EQ(r.status, 400) << r.body;
  // The wrong (but parseable) method.
  ASSERT_OK_AND_ASSIGN(r, sim_->Raw("GET", "vm.pause"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Body(r), json({"Bad Request"}));
  // A method micro_http itself does not know.
  ASSERT_OK_AND_ASSIGN(r, sim_->Raw("POST", "vm.pause"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("Invalid HTTP Method"));
}

TEST_F(ApiTest, Gotcha04UnknownPathIs404) {
  ASSERT_OK_AND_ASSIGN(chapi::HttpResponse r,
                       sim_->Raw("PUT", "vm.frobnicate"));
  EXPECT_EQ(r.status, 404);
  // A query string is part of the path: also unknown.
  ASSERT_OK_AND_ASSIGN(r, sim_->Raw("GET", "vmm.ping?x=1"));
  EXPECT_EQ(r.status, 404);
}

// docs/ch-v51.md §2.1/2.2 details of the same rules: PATCH on an action and
// vm.create without a body are 400 with an empty body; bodies over 51200
// bytes are refused; "Content-Length: 0" is the same as no body.
TEST_F(ApiTest, Gotcha04BodyEdgeCases) {
  ASSERT_OK_AND_ASSIGN(chapi::HttpResponse r, sim_->Raw("PATCH", "vm.pause"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "");
  ASSERT_OK_AND_ASSIGN(r, sim_->Raw("PUT", "vm.create"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "");
  json huge = BootableConfig(sim_->dir());
  huge["payload"]["cmdline"] = std::string(52000, 'x');
  ASSERT_OK_AND_ASSIGN(r, sim_->Raw("PUT", "vm.create", huge.dump()));
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(chapi::IsVmNotCreated(sim_->client().Info().status()))
      << "nothing was stored";
  UniqueFd fd = ConnectUnix(sim_->api_socket());
  ASSERT_TRUE(fd.valid());
  std::string out =
      Converse(fd.get(),
               "PUT /api/v1/vm.pause HTTP/1.1\r\nHost: localhost\r\n"
               "Content-Length: 0\r\n\r\n",
               "VM is not running\"]");
  EXPECT_TRUE(absl::StartsWith(out, "HTTP/1.1 500 \r\n")) << out;
}

// Gotcha 5: vmm.shutdown answers 200 with an empty body; a 204 has no
// Content-Length (and no Content-Type); no reason phrase.
TEST_F(ApiTest, Gotcha05ShutdownIs200EmptyAnd204HasNoLength) {
  ASSERT_OK(sim_->client().Create(BootableConfig(sim_->dir())));
  ASSERT_OK_AND_ASSIGN(chapi::HttpResponse r, sim_->Raw("PUT", "vm.boot"));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.Header("content-length"), std::nullopt);
  EXPECT_EQ(r.Header("content-type"), std::nullopt);
  EXPECT_EQ(r.Header("server"), "Cloud Hypervisor API");
  ASSERT_OK_AND_ASSIGN(r, sim_->Raw("PUT", "vmm.shutdown"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-length"), "0");
  EXPECT_EQ(r.body, "");
}

// Gotcha 6: hot-add answers 200 {"id","bdf"} with a Vm, 204 with a config only.
TEST_F(ApiTest, Gotcha06HotAdd200WithVm204WithConfigOnly) {
  ASSERT_OK(sim_->client().Create(BootableConfig(sim_->dir())));
  MakeRawDisk(sim_->Join("extra1.raw"));
  MakeRawDisk(sim_->Join("extra2.raw"));
  ASSERT_OK_AND_ASSIGN(
      chapi::HttpResponse r,
      sim_->Raw("PUT", "vm.add-disk",
                json({{"path", sim_->Join("extra1.raw")}}).dump()));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
  ASSERT_OK(sim_->client().Boot());
  ASSERT_OK_AND_ASSIGN(
      r, sim_->Raw("PUT", "vm.add-disk",
                   json({{"path", sim_->Join("extra2.raw")}}).dump()));
  EXPECT_EQ(r.status, 200);
  json b = Body(r);
  EXPECT_TRUE(b.contains("id") && b["id"].is_string()) << r.body;
  EXPECT_TRUE(b.contains("bdf") && b["bdf"].is_string()) << r.body;
  // Also while Paused: there is no state check.
  ASSERT_OK(sim_->client().Pause());
  MakeRawDisk(sim_->Join("extra3.raw"));
  ASSERT_OK_AND_ASSIGN(
      json dev, sim_->client().AddDisk({{"path", sim_->Join("extra3.raw")}}));
  EXPECT_TRUE(dev.contains("bdf"));
}

// Gotcha 7: after vm.shutdown the config stays and vm.info says Created.
TEST_F(ApiTest, Gotcha07ShutdownKeepsConfigAsCreated) {
  CreateAndBoot();
  ASSERT_OK(sim_->client().Shutdown());
  ASSERT_OK_AND_ASSIGN(json info, sim_->client().Info());
  EXPECT_EQ(info["state"], "Created");
  EXPECT_TRUE(info["config"].is_object());
  EXPECT_TRUE(info["device_tree"].is_null());
  EXPECT_THAT(sim_->client().Create(BootableConfig(sim_->dir())),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("VM is already created")));
  ASSERT_OK(sim_->client().Boot());
  ASSERT_OK_AND_ASSIGN(info, sim_->client().Info());
  EXPECT_EQ(info["state"], "Running");
  // The process is still there after all this.
  EXPECT_EQ(sim_->WaitExit(absl::ZeroDuration()), std::nullopt);
}

// Gotcha 8: boot on Paused resumes (204); reboot with no Vm says "VM is not
// created"; vm.delete is always 204.
TEST_F(ApiTest, Gotcha08BootResumesRebootAndDelete) {
  ASSERT_OK_AND_ASSIGN(chapi::HttpResponse r, sim_->Raw("PUT", "vm.delete"));
  EXPECT_EQ(r.status, 204);
  ASSERT_OK_AND_ASSIGN(r, sim_->Raw("PUT", "vm.reboot"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Body(r), json({"Error from API", "The VM could not reboot",
                           "VM is not created"}));
  CreateAndBoot();
  ASSERT_OK(sim_->client().Pause());
  ASSERT_OK_AND_ASSIGN(r, sim_->Raw("PUT", "vm.boot"));
  EXPECT_EQ(r.status, 204);
  ASSERT_OK_AND_ASSIGN(json info, sim_->client().Info());
  EXPECT_EQ(info["state"], "Running");
  ASSERT_OK_AND_ASSIGN(r, sim_->Raw("PUT", "vm.boot"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Body(r), json({"Error from API", "The VM could not boot",
                           "invalid VM state transition: Running to Running"}));
  ASSERT_OK_AND_ASSIGN(r, sim_->Raw("PUT", "vm.delete"));
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(chapi::IsVmNotCreated(sim_->client().Info().status()));
}

// Gotcha 9: vm.create stores without validating; boot fails; consoles are
// made at create (the PTY path is known right after vm.create).
TEST_F(ApiTest, Gotcha09CreateDoesNotValidate) {
  json bad = BootableConfig(sim_->dir());
  bad["disks"][0]["path"] = sim_->Join("no-such-disk.raw");
  bad["cpus"] = {{"boot_vcpus", 4}, {"max_vcpus", 2}};  // max < boot
  ASSERT_OK(sim_->client().Create(bad));
  ASSERT_OK_AND_ASSIGN(chapi::HttpResponse r, sim_->Raw("PUT", "vm.boot"));
  EXPECT_EQ(r.status, 500);
  json b = Body(r);
  ASSERT_TRUE(b.is_array() && b.size() >= 2) << r.body;
  EXPECT_EQ(b[1], "The VM could not boot");
}

TEST_F(ApiTest, Gotcha09ConsolePtyIsMadeAtCreate) {
  ASSERT_OK(sim_->client().Create(BootableConfig(sim_->dir(), "Pty")));
  ASSERT_OK_AND_ASSIGN(json info, sim_->client().Info());
  EXPECT_EQ(info["state"], "Created");
  ASSERT_TRUE(info["config"]["console"]["file"].is_string()) << info.dump();
  std::string pty = info["config"]["console"]["file"];
  EXPECT_TRUE(absl::StartsWith(pty, "/dev/pts/")) << pty;
  EXPECT_EQ(access(pty.c_str(), F_OK), 0);
}

// Gotcha 15: memory_actual_size and device_tree:null before boot; one id
// counter shared by all prefixes (_disk0, then _net1).
TEST_F(ApiTest, Gotcha15BeforeBootAndSharedIdCounter) {
  ASSERT_OK_AND_ASSIGN(auto ns, ScratchNetns::Create());
  ASSERT_OK(ns->AddTap("tap0"));
  SimOptions o;
  o.netns_path = ns->path();
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start(o));
  json config = BootableConfig(sim->dir());
  config["net"] = {{{"tap", "tap0"}, {"mac", "52:54:00:12:34:56"}}};
  ASSERT_OK(sim->client().Create(config));
  ASSERT_OK_AND_ASSIGN(json info, sim->client().Info());
  EXPECT_EQ(info["state"], "Created");
  EXPECT_TRUE(info["device_tree"].is_null());
  EXPECT_EQ(info["memory_actual_size"], int64_t{64} << 20);
  EXPECT_TRUE(info["config"]["disks"][0]["id"].is_null());
  ASSERT_OK(sim->client().Boot());
  ASSERT_OK_AND_ASSIGN(info, sim->client().Info());
  EXPECT_EQ(info["config"]["disks"][0]["id"], "_disk0");
  EXPECT_EQ(info["config"]["net"][0]["id"], "_net1");
  EXPECT_TRUE(info["device_tree"].contains("_disk0"));
  EXPECT_TRUE(info["device_tree"].contains("_net1"));
  EXPECT_EQ(info["device_tree"]["_disk0"]["parent"], "_virtio-pci-_disk0");
  // Hot-plug continues the counter.
  MakeRawDisk(sim->Join("hot.raw"));
  ASSERT_OK_AND_ASSIGN(json dev,
                       sim->client().AddDisk({{"path", sim->Join("hot.raw")}}));
  EXPECT_EQ(dev["id"], "_disk2");
}

// docs/ch-v51.md §1.4 identifier rules, checked by every vm.add-* (full
// validate()).
TEST_F(ApiTest, HotAddValidatesIdentifiers) {
  CreateAndBoot();
  MakeRawDisk(sim_->Join("x.raw"));
  absl::Status s = sim_->client()
                       .AddDisk({{"path", sim_->Join("x.raw")}, {"id", "__x"}})
                       .status();
  ASSERT_TRUE(chapi::GetChError(s).has_value()) << s;
  EXPECT_EQ(
      chapi::GetChError(s)->chain,
      std::vector<std::string>(
          {"Error from API", "The disk could not be added to the VM",
           "Failed to validate config", "Identifier __x is not invalid"}));
  s = sim_->client()
          .AddDisk({{"path", sim_->Join("x.raw")}, {"id", "_disk0"}})
          .status();
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("Identifier _disk0 is not unique"))
      << s;
}

// Gotcha 16: requests are served one at a time; a slow snapshot blocks ping.
TEST(Gotcha16Serialised, SlowSnapshotBlocksPing) {
  SimOptions o;
  o.extra_env = {"CHSIM_SNAPSHOT_DELAY_MS=1500"};
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start(o));
  ASSERT_OK(sim->client().Create(BootableConfig(sim->dir())));
  ASSERT_OK(sim->client().Boot());
  ASSERT_OK(sim->client().Pause());
  std::string dest = sim->Join("snap");
  ASSERT_EQ(mkdir(dest.c_str(), 0700), 0);
  std::thread t([&] {
    chapi::Client c(sim->api_socket());
    EXPECT_OK(c.Snapshot("file://" + dest));
  });
  absl::SleepFor(absl::Milliseconds(300));  // let the snapshot start
  absl::Time start = absl::Now();
  ASSERT_OK(sim->client().Ping());
  absl::Duration ping = absl::Now() - start;
  t.join();
  // The snapshot takes 1.5 s and started 0.3 s before the ping.
  EXPECT_GE(ping, absl::Milliseconds(900))
      << "ping was answered during the snapshot";
}

}  // namespace
}  // namespace chtools::conformance
