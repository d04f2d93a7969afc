// The CH answers recorded in testdata/chapi (which lib/chapi's unit tests
// replay) are what the simulator says in the same situation: exact bytes for
// error chains, same structure for bodies whose values are host-specific.
#include <sys/stat.h>

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/sim/sim_fixture.h"
#include "lib/chapi/fake_server.h"
#include "lib/testing/status_matchers.h"

namespace chtools::conformance {
namespace {

using ::chtools::chapi::testing::LoadRecorded;
using ::chtools::chapi::testing::Recorded;
using ::nlohmann::json;

class RecordedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Sim::Start();
    ASSERT_OK(s.status());
    sim_ = *std::move(s);
  }
  void Boot() {
    ASSERT_OK(sim_->client().Create(BootableConfig(sim_->dir())));
    ASSERT_OK(sim_->client().Boot());
  }
  // Sends the request and expects the recorded status and exact body.
  void ExpectRecorded(absl::string_view name, absl::string_view method,
                      absl::string_view endpoint, absl::string_view body = "") {
    Recorded want = LoadRecorded(name);
    absl::StatusOr<chapi::HttpResponse> r = sim_->Raw(method, endpoint, body);
    ASSERT_OK(r.status());
    EXPECT_EQ(r->status, want.status) << name;
    EXPECT_EQ(r->body, want.body) << name;
  }
  std::unique_ptr<Sim> sim_;
};

TEST_F(RecordedTest, EmptyVmm) {
  ExpectRecorded("vm_info_not_created", "GET", "vm.info");
  ExpectRecorded("vm_pause_not_running", "PUT", "vm.pause");
  ExpectRecorded("vm_resume_not_running", "PUT", "vm.resume");
  ExpectRecorded("unknown_path", "PUT", "vm.frobnicate");
  ExpectRecorded("bad_method", "POST", "vm.pause");
}

TEST_F(RecordedTest, Running) {
  Boot();
  ExpectRecorded("vm_resume_already_running", "PUT", "vm.resume");
  ExpectRecorded("vm_boot_running", "PUT", "vm.boot");
  ExpectRecorded("vm_snapshot_running", "PUT", "vm.snapshot",
                 json({{"destination_url", "file://" + sim_->dir()}}).dump());
  ExpectRecorded("vm_create_already_created", "PUT", "vm.create",
                 BootableConfig(sim_->dir()).dump());
  ExpectRecorded("vm_restore_already_created", "PUT", "vm.restore",
                 json({{"source_url", "file://" + sim_->dir()}}).dump());
  ExpectRecorded("vm_remove_device_unknown", "PUT", "vm.remove-device",
                 R"({"id":"nope"})");
  MakeRawDisk(sim_->Join("a.raw"));
  MakeRawDisk(sim_->Join("b.raw"));
  ASSERT_OK(sim_->client()
                .AddDisk({{"path", sim_->Join("a.raw")}, {"id", "foo"}})
                .status());
  ExpectRecorded("vm_add_disk_not_unique", "PUT", "vm.add-disk",
                 json({{"path", sim_->Join("b.raw")}, {"id", "foo"}}).dump());
}

TEST_F(RecordedTest, Paused) {
  Boot();
  ASSERT_OK_AND_ASSIGN(chapi::HttpResponse r, sim_->Raw("PUT", "vm.pause"));
  ASSERT_EQ(r.status, 204);
  ExpectRecorded("vm_pause_already_paused", "PUT", "vm.pause");
  std::string dest = sim_->Join("snap");
  ASSERT_EQ(mkdir(dest.c_str(), 0700), 0);
  std::string body = json({{"destination_url", "file://" + dest}}).dump();
  ASSERT_OK_AND_ASSIGN(r, sim_->Raw("PUT", "vm.snapshot", body));
  ASSERT_EQ(r.status, 204);
  ExpectRecorded("vm_snapshot_file_exists", "PUT", "vm.snapshot", body);
}

TEST_F(RecordedTest, PingAndShutdown) {
  json want = json::parse(LoadRecorded("vmm_ping").body);
  ASSERT_OK_AND_ASSIGN(json got, sim_->client().VmmPing());
  want["pid"] = sim_->child().pid();
  EXPECT_EQ(got, want);
  ExpectRecorded("vmm_shutdown", "PUT", "vmm.shutdown");
}

// Same keys at every object level (values may differ).
void ExpectSameShape(const json& want, const json& got,
                     const std::string& path) {
  if (!want.is_object()) return;
  ASSERT_TRUE(got.is_object()) << path << " is " << got.dump();
  std::set<std::string> wk, gk;
  for (auto it = want.begin(); it != want.end(); ++it) wk.insert(it.key());
  for (auto it = got.begin(); it != got.end(); ++it) gk.insert(it.key());
  EXPECT_EQ(wk, gk) << path;
  for (auto it = want.begin(); it != want.end(); ++it) {
    if (got.contains(it.key()))
      ExpectSameShape(it.value(), got[it.key()], path + "." + it.key());
  }
}

// The example of docs/ch-v51.md §6.1: the same command line gives the same
// vm.info, up to paths, the tap's MAC, the PTY and device resources.
TEST(RecordedInfoTest, InfoOfTheReferenceExample) {
  ASSERT_OK_AND_ASSIGN(auto ns, ScratchNetns::Create());
  ASSERT_OK(ns->AddTap("tap0"));
  chapi::testing::SocketDir files;
  WriteFile(files.Join("vmlinux"), "k");
  MakeRawDisk(files.Join("a.raw"));
  SimOptions o;
  o.netns_path = ns->path();
  o.args = {"--cpus",    "boot=2",
            "--memory",  "size=1G",
            "--kernel",  files.Join("vmlinux"),
            "--cmdline", "console=ttyS0 root=/dev/vda rw",
            "--disk",    "path=" + files.Join("a.raw"),
            "--net",     "tap=tap0,mac=52:54:00:12:34:56",
            "--serial",  "pty",
            "--console", "off"};
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start(o));
  ASSERT_OK(sim->WaitRunning());
  ASSERT_OK_AND_ASSIGN(json got, sim->client().Info());
  json want = json::parse(LoadRecorded("vm_info_running").body);

  ExpectSameShape(want, got, "info");
  json wc = want["config"], gc = got["config"];
  wc["payload"]["kernel"] = files.Join("vmlinux");
  wc["disks"][0]["path"] = files.Join("a.raw");
  wc["net"][0]["host_mac"] = gc["net"][0]["host_mac"];
  wc["serial"]["file"] = gc["serial"]["file"];
  EXPECT_EQ(gc, wc);
  EXPECT_EQ(got["state"], want["state"]);
  EXPECT_EQ(got["memory_actual_size"], want["memory_actual_size"]);
  for (auto it = want["device_tree"].begin(); it != want["device_tree"].end();
       ++it) {
    const json& node = got["device_tree"][it.key()];
    EXPECT_EQ(node["parent"], it.value()["parent"]) << it.key();
    EXPECT_EQ(node["children"], it.value()["children"]) << it.key();
    EXPECT_EQ(node["pci_bdf"].is_null(), it.value()["pci_bdf"].is_null())
        << it.key();
  }
}

TEST(RecordedInfoTest, Counters) {
  ASSERT_OK_AND_ASSIGN(auto ns, ScratchNetns::Create());
  ASSERT_OK(ns->AddTap("tap0"));
  SimOptions o;
  o.netns_path = ns->path();
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start(o));
  json c = BootableConfig(sim->dir());
  c["net"] = {{{"tap", "tap0"}}};
  ASSERT_OK(sim->client().Create(c));
  ASSERT_OK(sim->client().Boot());
  ASSERT_OK_AND_ASSIGN(json got, sim->client().Counters());
  ExpectSameShape(json::parse(LoadRecorded("vm_counters").body), got,
                  "counters");
}

}  // namespace
}  // namespace chtools::conformance
