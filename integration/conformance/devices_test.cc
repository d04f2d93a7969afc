// Conformance: CH v51's device removal while paused (docs/ch-v51.md
// §7, gotcha 17), with real taps in a scratch
// network namespace.
#include <sys/stat.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/sim/sim_fixture.h"
#include "lib/base/unique_fd.h"
#include "lib/testing/status_matchers.h"

namespace chtools::conformance {
namespace {

using ::nlohmann::json;
using ::testing::HasSubstr;

class DevicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ns = ScratchNetns::Create();
    ASSERT_OK(ns.status());
    ns_ = *std::move(ns);
    for (auto argv : {std::vector<std::string>{"ip", "tuntap", "add", "tapsq",
                                               "mode", "tap"},
                      std::vector<std::string>{"ip", "tuntap", "add", "tapmq",
                                               "mode", "tap", "multi_queue"},
                      std::vector<std::string>{"ip", "tuntap", "add", "tapalt",
                                               "mode", "tap"}}) {
      auto r = ns_->Run(argv);
      ASSERT_OK(r.status());
      ASSERT_EQ(r->exit, process::ExitInfo::Exited(0)) << r->err;
    }
  }

  // Boots a VM on `tap` (num_queues), snapshots it, stops that CH, and
  // restores the snapshot in a fresh CH in the same netns: left Paused.
  std::unique_ptr<Sim> RestoredPaused(const std::string& tap, int num_queues,
                                      int vcpus) {
    SimOptions o;
    o.netns_path = ns_->path();
    auto src = Sim::Start(o);
    EXPECT_OK(src.status());
    if (!src.ok()) return nullptr;
    json c = BootableConfig((*src)->dir());
    c["cpus"] = {{"boot_vcpus", vcpus}, {"max_vcpus", vcpus}};
    c["net"] = {{{"tap", tap},
                 {"mac", "52:54:00:aa:bb:01"},
                 {"num_queues", num_queues}}};
    EXPECT_OK((*src)->client().Create(c));
    EXPECT_OK((*src)->client().Boot());
    EXPECT_OK((*src)->client().Pause());
    snap_ = (*src)->Join("snap");
    mkdir(snap_.c_str(), 0700);
    EXPECT_OK((*src)->client().Snapshot("file://" + snap_));
    EXPECT_OK((*src)->client().ShutdownVmm());
    (*src)->WaitExit();
    keep_files_ = *std::move(src);  // its dir holds the disk and snapshot
    auto dst = Sim::Start(o);
    EXPECT_OK(dst.status());
    if (!dst.ok()) return nullptr;
    EXPECT_OK((*dst)->client().Restore("file://" + snap_));
    return *std::move(dst);
  }

  std::unique_ptr<ScratchNetns> ns_;
  std::unique_ptr<Sim> keep_files_;
  std::string snap_;
};

TEST_F(DevicesTest, Gotcha17RemoveWhilePausedKeepsSingleQueueTapBusy) {
  std::unique_ptr<Sim> sim = RestoredPaused("tapsq", 2, 1);
  ASSERT_NE(sim, nullptr);
  ASSERT_OK_AND_ASSIGN(json info, sim->client().Info());
  ASSERT_EQ(info["state"], "Paused");
  ASSERT_OK_AND_ASSIGN(
      chapi::HttpResponse r,
      sim->Raw("PUT", "vm.remove-device", R"({"id":"_net1"})"));
  EXPECT_EQ(r.status, 204) << "removal is answered at once";
  ASSERT_OK_AND_ASSIGN(info, sim->client().Info());
  EXPECT_TRUE(info["config"]["net"].is_null() || info["config"]["net"].empty())
      << "the config entry goes at once";
  EXPECT_TRUE(info["device_tree"].contains("_net1"))
      << "the node stays until the (paused) guest ejects";
  absl::StatusOr<json> add =
      sim->client().AddNet({{"tap", "tapsq"}, {"num_queues", 2}});
  EXPECT_FALSE(add.ok()) << "the removed NIC still holds the single-queue tap";
  EXPECT_THAT(std::string(add.status().message()),
              HasSubstr("Device or resource busy"));
  // After resume the guest ejects the device and the tap is free again.
  ASSERT_OK(sim->client().Resume());
  ASSERT_OK_AND_ASSIGN(info, sim->client().Info());
  EXPECT_FALSE(info["device_tree"].contains("_net1"));
  EXPECT_OK(
      sim->client().AddNet({{"tap", "tapsq"}, {"num_queues", 2}}).status());
}

TEST_F(DevicesTest, Gotcha17MultiQueueTapAcceptsMoreQueues) {
  std::unique_ptr<Sim> sim = RestoredPaused("tapmq", 4, 2);
  ASSERT_NE(sim, nullptr);
  ASSERT_OK(sim->client().RemoveDevice("_net1"));
  ASSERT_OK_AND_ASSIGN(
      json dev, sim->client().AddNet({{"tap", "tapmq"}, {"num_queues", 4}}));
  EXPECT_TRUE(dev.contains("id")) << dev.dump();
  ASSERT_OK(sim->client().Resume());
}

// docs/ch-v51.md §4.5: the guest-visible MAC comes from the saved device state,
// not from an edited config.json; the tap name does come from config.json.
TEST_F(DevicesTest, RestoreTakesMacFromStateAndTapFromConfig) {
  SimOptions o;
  o.netns_path = ns_->path();
  ASSERT_OK_AND_ASSIGN(auto src, Sim::Start(o));
  json c = BootableConfig(src->dir());
  c["net"] = {{{"tap", "tapsq"}, {"mac", "52:54:00:aa:bb:01"}}};
  ASSERT_OK(src->client().Create(c));
  ASSERT_OK(src->client().Boot());
  ASSERT_OK(src->client().Pause());
  std::string snap = src->Join("snap");
  ASSERT_EQ(mkdir(snap.c_str(), 0700), 0);
  ASSERT_OK(src->client().Snapshot("file://" + snap));
  ASSERT_OK(src->client().ShutdownVmm());
  src->WaitExit();

  json config = json::parse(ReadFile(snap + "/config.json"), nullptr, false);
  ASSERT_TRUE(config.is_object());
  config["net"][0]["mac"] = "52:54:00:cc:dd:02";
  config["net"][0]["tap"] = "tapalt";
  config["serial"] = {{"mode", "Socket"}, {"socket", src->Join("serial.sock")}};
  WriteFile(snap + "/config.json", config.dump());

  ASSERT_OK_AND_ASSIGN(auto dst, Sim::Start(o));
  ASSERT_OK(dst->client().Restore("file://" + snap));
  ASSERT_OK(dst->client().Resume());
  UniqueFd con = ConnectUnix(src->Join("serial.sock"));
  ASSERT_TRUE(con.valid());
  std::string out = Converse(con.get(), "ip link\n", "root@sim:~# ");
  EXPECT_THAT(out, HasSubstr("52:54:00:aa:bb:01")) << out;
  EXPECT_THAT(out, ::testing::Not(HasSubstr("52:54:00:cc:dd:02")));
  // The tap named in config.json is the one opened.
  EXPECT_EQ(TunAttachments(dst->child().pid()),
            std::multiset<std::string>({"tapalt"}));
}

}  // namespace
}  // namespace chtools::conformance
