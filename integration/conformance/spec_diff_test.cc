// Conformance: where CH v51's code differs from its own OpenAPI file
// (docs/ch-v51.md §2.6; the code wins). One test per
// numbered item.
#include <sys/stat.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/sim/sim_fixture.h"
#include "lib/testing/status_matchers.h"

namespace chtools::conformance {
namespace {

using ::chtools::testing::StatusIs;
using ::nlohmann::json;
using ::testing::HasSubstr;

json Body(const chapi::HttpResponse& r) {
  return json::parse(r.body, nullptr, false);
}

class SpecDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Sim::Start();
    ASSERT_OK(s.status());
    sim_ = *std::move(s);
  }
  std::unique_ptr<Sim> sim_;
};

// 1. State errors are 500, not the spec's 404/405.
TEST_F(SpecDiffTest, Item01StateErrorsAre500) {
  for (const char* ep : {"vm.shutdown", "vm.reboot", "vm.pause", "vm.resume",
                         "vm.power-button"}) {
    ASSERT_OK_AND_ASSIGN(chapi::HttpResponse r, sim_->Raw("PUT", ep));
    EXPECT_EQ(r.status, 500) << ep << ": " << r.body;
  }
  ASSERT_OK_AND_ASSIGN(chapi::HttpResponse r, sim_->Raw("GET", "vm.counters"));
  EXPECT_EQ(r.status, 500);
}

// 2. vmm.shutdown answers 200 (the spec says 204).
TEST_F(SpecDiffTest, Item02VmmShutdownIs200) {
  ASSERT_OK_AND_ASSIGN(chapi::HttpResponse r, sim_->Raw("PUT", "vmm.shutdown"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(sim_->WaitExit(), process::ExitInfo::Exited(0));
}

// 3. The NMI route is /vm.nmi; the spec's /vmm.nmi does not exist.
TEST_F(SpecDiffTest, Item03NmiRouteIsVmNmi) {
  ASSERT_OK_AND_ASSIGN(chapi::HttpResponse r, sim_->Raw("PUT", "vmm.nmi"));
  EXPECT_EQ(r.status, 404);
  ASSERT_OK_AND_ASSIGN(r, sim_->Raw("PUT", "vm.nmi"));
  EXPECT_EQ(r.status, 500) << "routed, but there is no VM";
  ASSERT_OK(sim_->client().Create(BootableConfig(sim_->dir())));
  ASSERT_OK(sim_->client().Boot());
  ASSERT_OK_AND_ASSIGN(r, sim_->Raw("PUT", "vm.nmi"));
  EXPECT_EQ(r.status, 204);
}

// 4. VmInfo.state has a value the spec's enum lacks (BreakPoint, gdb builds
// only, so not reachable here); the reachable ones use the Debug spellings.
TEST_F(SpecDiffTest, Item04StateSpellings) {
  ASSERT_OK(sim_->client().Create(BootableConfig(sim_->dir())));
  ASSERT_OK_AND_ASSIGN(json info, sim_->client().Info());
  EXPECT_EQ(info["state"], "Created");
  ASSERT_OK(sim_->client().Boot());
  ASSERT_OK_AND_ASSIGN(info, sim_->client().Info());
  EXPECT_EQ(info["state"], "Running");
  ASSERT_OK(sim_->client().Pause());
  ASSERT_OK_AND_ASSIGN(info, sim_->client().Info());
  EXPECT_EQ(info["state"], "Paused");
}

// 5. NetConfig ip/mask have no defaults and must come together.
TEST_F(SpecDiffTest, Item05NetIpMaskNoDefaultsAndPaired) {
  json c = BootableConfig(sim_->dir());
  c["net"] = {{{"tap", "tap-unused"}}};
  ASSERT_OK(sim_->client().Create(c));
  ASSERT_OK_AND_ASSIGN(json info, sim_->client().Info());
  EXPECT_TRUE(info["config"]["net"][0]["ip"].is_null())
      << info["config"]["net"].dump();
  EXPECT_TRUE(info["config"]["net"][0]["mask"].is_null());
  ASSERT_OK(sim_->client().Delete());
  c["net"] = {{{"tap", "tap-unused"}, {"ip", "192.168.249.1"}}};
  ASSERT_OK(sim_->client().Create(c));
  absl::Status s = sim_->client().Boot();
  EXPECT_THAT(std::string(s.message()), HasSubstr("IP provided without a mask"))
      << s;
}

// 7. payload is optional at create (the spec says required); boot then fails.
TEST_F(SpecDiffTest, Item07PayloadOptionalAtCreate) {
  json c = BootableConfig(sim_->dir());
  c.erase("payload");
  ASSERT_OK(sim_->client().Create(c));
  ASSERT_OK_AND_ASSIGN(chapi::HttpResponse r, sim_->Raw("PUT", "vm.boot"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Body(r),
            json({"Error from API", "The VM could not boot",
                  "Failed to validate config",
                  "Payload configuration is not bootable",
                  "No bootitem provided: neither firmware nor kernel"}))
      << r.body;
}

// 8. image_type "Unknown" exists (auto-detect, shown before boot) and
// disable_io_uring/disable_aio appear in real output.
TEST_F(SpecDiffTest, Item08ImageTypeUnknownAndHiddenDiskFields) {
  ASSERT_OK(sim_->client().Create(BootableConfig(sim_->dir())));
  ASSERT_OK_AND_ASSIGN(json info, sim_->client().Info());
  json disk = info["config"]["disks"][0];
  EXPECT_EQ(disk["image_type"], "Unknown") << disk;
  EXPECT_EQ(disk["disable_io_uring"], false);
  EXPECT_EQ(disk["disable_aio"], false);
  ASSERT_OK(sim_->client().Boot());
  ASSERT_OK_AND_ASSIGN(info, sim_->client().Info());
  EXPECT_EQ(info["config"]["disks"][0]["image_type"], "Raw");
  ASSERT_OK(sim_->client().Delete());
  json c = BootableConfig(sim_->dir());
  c["disks"][0]["image_type"] = "Unknown";
  EXPECT_OK(sim_->client().Create(c));
}

// 9. destination_url and remove-device id are required (spec: optional);
// RestoreConfig accepts net_fds (absent from the spec).
TEST_F(SpecDiffTest, Item09RequiredFieldsAndNetFds) {
  ASSERT_OK(sim_->client().Create(BootableConfig(sim_->dir())));
  ASSERT_OK(sim_->client().Boot());
  ASSERT_OK(sim_->client().Pause());
  ASSERT_OK_AND_ASSIGN(chapi::HttpResponse r,
                       sim_->Raw("PUT", "vm.snapshot", "{}"));
  EXPECT_EQ(r.status, 400) << r.body;
  ASSERT_OK_AND_ASSIGN(r, sim_->Raw("PUT", "vm.remove-device", "{}"));
  EXPECT_EQ(r.status, 400) << r.body;
  std::string snap = sim_->Join("snap");
  ASSERT_EQ(mkdir(snap.c_str(), 0700), 0);
  ASSERT_OK(sim_->client().Snapshot("file://" + snap));
  ASSERT_OK(sim_->client().ShutdownVmm());
  sim_->WaitExit();
  ASSERT_OK_AND_ASSIGN(auto target, Sim::Start());
  ASSERT_OK_AND_ASSIGN(r, target->Raw("PUT", "vm.restore", "{}"));
  EXPECT_EQ(r.status, 400) << "source_url is required";
  ASSERT_OK_AND_ASSIGN(r, target->Raw("PUT", "vm.restore",
                                      json({{"source_url", "file://" + snap},
                                            {"net_fds", json::array()}})
                                          .dump()));
  EXPECT_EQ(r.status, 204) << r.body;
}

// 10. console mode Socket is in the spec but rejected at create; the config
// is stored anyway.
TEST_F(SpecDiffTest, Item10ConsoleSocketRejectedAtCreate) {
  json c = BootableConfig(sim_->dir());
  c["console"] = {{"mode", "Socket"}, {"socket", sim_->Join("console.sock")}};
  ASSERT_OK_AND_ASSIGN(chapi::HttpResponse r,
                       sim_->Raw("PUT", "vm.create", c.dump()));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Body(r), json({"Error from API", "The VM could not be created",
                           "Error creating console devices",
                           "No socket option support for console device"}))
      << r.body;
  ASSERT_OK_AND_ASSIGN(json info, sim_->client().Info());
  EXPECT_EQ(info["state"], "Created");
}

// 11. VmConfig.user_devices and NetConfig.fds exist (not in the spec); fds
// sent to vm.create are discarded.
TEST_F(SpecDiffTest, Item11UserDevicesAndNetFds) {
  json c = BootableConfig(sim_->dir());
  c["user_devices"] = json::array();
  c["net"] = {{{"tap", "tap-unused"}, {"fds", {3, 4}}}};
  ASSERT_OK(sim_->client().Create(c));
  ASSERT_OK_AND_ASSIGN(json info, sim_->client().Info());
  EXPECT_TRUE(info["config"].contains("user_devices")) << info["config"].dump();
  EXPECT_TRUE(info["config"]["net"][0]["fds"].is_null())
      << info["config"]["net"].dump();
}

}  // namespace
}  // namespace chtools::conformance
