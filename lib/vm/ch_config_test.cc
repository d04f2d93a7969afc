#include "lib/vm/ch_config.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/testing/golden.h"
#include "lib/testing/status_matchers.h"
#include "nlohmann/json.hpp"

namespace chtools::vm {
namespace {

using ::chtools::testing::IsOk;
using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;
using Json = nlohmann::ordered_json;

std::string Sim(const char* name) {
  auto text = chtools::testing::ReadFile(chtools::testing::RunfilePath(
      std::string("testdata/archive/sim/") + name));
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

// The direct-boot config.json the simulator wrote (testdata/archive/README.md),
// with one NIC added as CH lists it after a hot-add.
std::string DirectConfig() {
  Json j = Json::parse(Sim("direct-config.json"));
  j["net"] = Json::array({Json{{"tap", "tap0"},
                               {"ip", nullptr},
                               {"mask", nullptr},
                               {"mac", "02:00:00:00:00:01"},
                               {"host_mac", "aa:00:00:00:00:01"},
                               {"mtu", nullptr},
                               {"iommu", false},
                               {"num_queues", 2},
                               {"queue_size", 256},
                               {"vhost_user", false},
                               {"vhost_socket", nullptr},
                               {"vhost_mode", "Client"},
                               {"id", "_net1"},
                               {"fds", nullptr},
                               {"rate_limiter_config", nullptr},
                               {"pci_segment", 0},
                               {"offload_tso", true},
                               {"offload_ufo", true},
                               {"offload_csum", true}}});
  return j.dump();
}

ConfigRewrite DirectRewrite() {
  ConfigRewrite rw;
  rw.run_dir = "/run/ch/0123456789abcdef";
  rw.disk_paths = {"/run/ch/0123456789abcdef/cow.raw"};
  rw.taps = {"chp0123456780"};
  rw.direct_boot = true;
  rw.allowed_ro_files = {"/tmp/simrun/vmlinux"};
  return rw;
}

TEST(ParseChConfigTest, ReadsDisksNicsAndResources) {
  auto c = ParseChConfig(DirectConfig(), "config.json");
  ASSERT_THAT(c, IsOk());
  ASSERT_EQ(c->disks.size(), 1u);
  EXPECT_EQ(c->disks[0].id, "_disk0");
  EXPECT_EQ(c->disks[0].path, "/tmp/simrun/cow.raw");
  EXPECT_FALSE(c->disks[0].readonly);
  EXPECT_EQ(c->disks[0].serial, "cocoon-cow");
  ASSERT_EQ(c->nics.size(), 1u);
  EXPECT_EQ(c->nics[0].id, "_net1");
  EXPECT_EQ(c->nics[0].num_queues, 2);
  EXPECT_EQ(c->boot_vcpus, 2);
  EXPECT_EQ(c->max_vcpus, 2);
  EXPECT_EQ(c->memory_size, uint64_t{512} << 20);
  EXPECT_EQ(c->kernel, "/tmp/simrun/vmlinux");
}

TEST(ParseChConfigTest, RefusesMalformed) {
  EXPECT_THAT(ParseChConfig("[1]", "c.json"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseChConfig("{", "c.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("c.json: is not valid JSON")));
  EXPECT_THAT(ParseChConfig(std::string(100000, '[') + std::string(100000, ']'),
                            "c.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("nests deeper than 64")));
  Json j = Json::parse(DirectConfig());
  j["disks"][0]["path"] = 7;
  EXPECT_THAT(ParseChConfig(j.dump(), "c.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("disks[0].path: is not a string")));
  j = Json::parse(DirectConfig());
  j["net"][0].erase("id");
  EXPECT_THAT(ParseChConfig(j.dump(), "c.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("net[0].id: missing")));
}

TEST(RewriteChConfigTest, RewritesPathsAndKeepsUnknownFields) {
  Json in = Json::parse(DirectConfig());
  in["some_future_field"] = Json{{"x", 1}};
  auto out = RewriteChConfig(in.dump(), "config.json", DirectRewrite());
  ASSERT_THAT(out, IsOk());
  Json j = Json::parse(*out);
  EXPECT_EQ(j["disks"][0]["path"], "/run/ch/0123456789abcdef/cow.raw");
  EXPECT_EQ(j["disks"][0]["id"], "_disk0");
  EXPECT_EQ(j["disks"][0]["serial"], "cocoon-cow");
  EXPECT_EQ(j["net"][0]["tap"], "chp0123456780");
  EXPECT_TRUE(j["net"][0]["host_mac"].is_null());
  EXPECT_EQ(j["net"][0]["id"], "_net1");
  EXPECT_EQ(j["serial"]["mode"], "Off");
  EXPECT_EQ(j["console"]["mode"], "Pty");
  EXPECT_TRUE(j["console"]["file"].is_null());
  EXPECT_EQ(j["some_future_field"]["x"], 1);
  EXPECT_EQ(j["payload"]["cmdline"], "console=hvc0 cocoon.hostname=web-1");
}

TEST(RewriteChConfigTest, FirmwareBootGetsTheSerialSocket) {
  ConfigRewrite rw;
  rw.run_dir = "/run/ch/0123456789abcdef";
  rw.disk_paths = {"/run/ch/0123456789abcdef/overlay.qcow2",
                   "/run/ch/0123456789abcdef/cidata.img"};
  rw.direct_boot = false;
  rw.console_socket = "/run/ch/0123456789abcdef/console.sock";
  rw.allowed_ro_files = {"/tmp/simrun2/CLOUDHV.fd"};
  auto out = RewriteChConfig(Sim("cloud-config.json"), "config.json", rw);
  ASSERT_THAT(out, IsOk());
  Json j = Json::parse(*out);
  EXPECT_EQ(j["serial"]["mode"], "Socket");
  EXPECT_EQ(j["serial"]["socket"], rw.console_socket);
  EXPECT_EQ(j["console"]["mode"], "Off");
  EXPECT_EQ(j["disks"][1]["path"], "/run/ch/0123456789abcdef/cidata.img");
}

// A hostile config.json must not make CH open host files.
TEST(RewriteChConfigTest, ConfinesEveryPath) {
  struct Case {
    const char* what;
    void (*edit)(Json&);
    const char* error;
  } cases[] = {
      {"kernel elsewhere",
       [](Json& j) { j["payload"]["kernel"] = "/etc/shadow"; },
       "payload.kernel: \"/etc/shadow\" is not a boot file"},
      {"initramfs elsewhere",
       [](Json& j) { j["payload"]["initramfs"] = "/etc/shadow"; },
       "payload.initramfs"},
      {"pmem",
       [](Json& j) {
         j["pmem"] = Json::array({{{"file", "/x"}}});
       },
       "pmem: is set"},
      {"fs",
       [](Json& j) {
         j["fs"] = Json::array({{{"socket", "/x"}}});
       },
       "fs: is set"},
      {"vsock",
       [](Json& j) {
         j["vsock"] = Json{{"socket", "v.sock"}};
       },
       "vsock: is set"},
      {"vfio",
       [](Json& j) {
         j["devices"] = Json::array({{{"path", "/d"}}});
       },
       "devices: is set"},
      {"rng", [](Json& j) { j["rng"]["src"] = "/etc/shadow"; },
       "rng.src: \"/etc/shadow\""},
      {"rng relative", [](Json& j) { j["rng"]["src"] = "shadow"; }, "rng.src"},
      {"vhost disk", [](Json& j) { j["disks"][0]["vhost_user"] = true; },
       "disks[0].vhost_user"},
      {"vhost net socket",
       [](Json& j) { j["net"][0]["vhost_socket"] = "/other/sock"; },
       "net[0].vhost_socket"},
      {"memory zone file",
       [](Json& j) {
         j["memory"]["zones"] = Json::array({{{"id", "z"}, {"file", "/x"}}});
       },
       "memory.zones[0].file"},
      {"unknown field with a path",
       [](Json& j) {
         j["future"] = Json{{"path", "/var/lib/other/disk"}};
       },
       "future.path: \"/var/lib/other/disk\" names a path"},
      {"platform string path",
       [](Json& j) {
         j["platform"] = Json{{"oem_strings", Json::array({"/etc/shadow"})}};
       },
       "platform.oem_strings[0]"},
  };
  for (const Case& c : cases) {
    Json j = Json::parse(DirectConfig());
    c.edit(j);
    EXPECT_THAT(
        RewriteChConfig(j.dump(), "config.json", DirectRewrite()),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.error)))
        << c.what;
  }
}

TEST(RewriteChConfigTest, DiskPathsMustBeInsideOrAllowed) {
  ConfigRewrite rw = DirectRewrite();
  rw.disk_paths = {"/run/ch/0123456789abcdef/../other/cow.raw"};
  EXPECT_THAT(
      RewriteChConfig(DirectConfig(), "config.json", rw),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("disks[0].path")));
  rw.disk_paths = {"/run/ch/0123456789abcdef-evil/cow.raw"};
  EXPECT_THAT(RewriteChConfig(DirectConfig(), "config.json", rw),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("outside the VM's run dir")));
  rw.disk_paths = {"/a", "/b"};
  EXPECT_THAT(RewriteChConfig(DirectConfig(), "config.json", rw),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("has 1 disks, expected 2")));
}

TEST(RewriteChConfigTest, DuplicateKeysCannotHideAPath) {
  // The last duplicate wins in our parser; the output has one key only, so
  // CH reads exactly what was checked.
  std::string text = DirectConfig();
  text.insert(1, "\"pmem\":[{\"file\":\"/x\"}],");
  std::string dup = text.substr(0, text.size() - 1) + ",\"pmem\":null}";
  auto out = RewriteChConfig(dup, "config.json", DirectRewrite());
  ASSERT_THAT(out, IsOk());
  EXPECT_THAT(*out, ::testing::Not(HasSubstr("\"/x\"")));
}

TEST(RewriteChStateTest, ReplacesWholeStringsOnlyAlsoInsideInnerDocuments) {
  std::string state = Sim("direct-state.json");
  auto out = RewriteChState(
      state, "state.json",
      {{"/tmp/simrun/cow.raw", "/run/ch/0123456789abcdef/cow.raw"}});
  ASSERT_THAT(out, IsOk());
  EXPECT_THAT(*out, HasSubstr("/run/ch/0123456789abcdef/cow.raw"));
  EXPECT_THAT(*out, ::testing::Not(HasSubstr("/tmp/simrun/cow.raw")));
  // Never by substring: a path that only starts like an old one stays.
  Json j = Json{{"a", "/tmp/simrun/cow.raw.bak"},
                {"b", Json{{"state", "{\"p\":\"/tmp/simrun/cow.raw\"}"}}}};
  out = RewriteChState(j.dump(), "state.json",
                       {{"/tmp/simrun/cow.raw", "/new/cow.raw"}});
  ASSERT_THAT(out, IsOk());
  Json o = Json::parse(*out);
  EXPECT_EQ(o["a"], "/tmp/simrun/cow.raw.bak");
  EXPECT_EQ(Json::parse(o["b"]["state"].get<std::string>())["p"],
            "/new/cow.raw");
  // Nothing to replace: the text comes back byte for byte.
  EXPECT_THAT(RewriteChState(state, "state.json", {{"/nope", "/x"}}),
              ::chtools::testing::IsOkAndHolds(state));
  EXPECT_THAT(RewriteChState("{", "state.json", {{"/a", "/b"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace chtools::vm
