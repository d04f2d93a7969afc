#include "lib/vm/snapshot_json.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
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

constexpr uint64_t kMax = uint64_t{64} << 20;

std::string Sim(const char* name) {
  auto text = chtools::testing::ReadFile(chtools::testing::RunfilePath(
      std::string("testdata/archive/sim/") + name));
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

ConfigRewrite DirectRewrite() {
  ConfigRewrite rw;
  rw.run_dir = "/run/ch/0123456789abcdef";
  rw.disk_paths = {"/run/ch/0123456789abcdef/cow.raw"};
  rw.direct_boot = true;
  rw.allowed_ro_files = {"/tmp/simrun/vmlinux"};
  return rw;
}

const std::map<std::string, std::string> kMoved = {
    {"/tmp/simrun/cow.raw", "/run/ch/0123456789abcdef/cow.raw"}};

void ExpectSameConfig(const ChConfig& a, const ChConfig& b) {
  ASSERT_EQ(a.disks.size(), b.disks.size());
  for (size_t i = 0; i < a.disks.size(); ++i) {
    EXPECT_EQ(a.disks[i].id, b.disks[i].id);
    EXPECT_EQ(a.disks[i].path, b.disks[i].path);
    EXPECT_EQ(a.disks[i].readonly, b.disks[i].readonly);
    EXPECT_EQ(a.disks[i].serial, b.disks[i].serial);
  }
  ASSERT_EQ(a.nics.size(), b.nics.size());
  for (size_t i = 0; i < a.nics.size(); ++i) {
    EXPECT_EQ(a.nics[i].id, b.nics[i].id);
    EXPECT_EQ(a.nics[i].tap, b.nics[i].tap);
    EXPECT_EQ(a.nics[i].mac, b.nics[i].mac);
    EXPECT_EQ(a.nics[i].num_queues, b.nics[i].num_queues);
  }
  EXPECT_EQ(a.boot_vcpus, b.boot_vcpus);
  EXPECT_EQ(a.max_vcpus, b.max_vcpus);
  EXPECT_EQ(a.memory_size, b.memory_size);
  EXPECT_EQ(a.kernel, b.kernel);
  EXPECT_EQ(a.initramfs, b.initramfs);
  EXPECT_EQ(a.firmware, b.firmware);
}

TEST(ReadSnapshotJsonTest, ConfinedReadsWhatTheParsersRead) {
  struct {
    const char* boot;
    uint64_t ram;
    int vcpus;
  } sims[] = {{"direct", uint64_t{512} << 20, 2},
              {"cloud", uint64_t{1} << 30, 1}};
  for (const auto& sim : sims) {
    SCOPED_TRACE(sim.boot);
    std::string config = Sim((std::string(sim.boot) + "-config.json").c_str());
    std::string state = Sim((std::string(sim.boot) + "-state.json").c_str());
    auto in =
        ReadSnapshotJson(config, "config.json", state, JsonSandbox::kInProcess);
    auto out =
        ReadSnapshotJson(config, "config.json", state, JsonSandbox::kConfined);
    ASSERT_THAT(in, IsOk());
    ASSERT_THAT(out, IsOk());
    ExpectSameConfig(in->config, out->config);
    EXPECT_EQ(in->ram_bytes, out->ram_bytes);
    EXPECT_EQ(out->ram_bytes, sim.ram);
    EXPECT_EQ(out->config.memory_size, sim.ram);
    EXPECT_EQ(out->config.boot_vcpus, sim.vcpus);
    EXPECT_FALSE(out->config.disks.empty());
  }
}

// What the parsers refuse, the confined reader refuses with the same code
// and message, state.json checked first.
TEST(ReadSnapshotJsonTest, ErrorsAreTheParsersErrors) {
  const std::string config = Sim("direct-config.json");
  const std::string state = Sim("direct-state.json");
  Json bad_path = Json::parse(config);
  bad_path["disks"][0]["path"] = 7;
  struct Case {
    std::string config, state, want;
  } cases[] = {
      {config, "{", "state.json"},
      {"{", "{", "state.json"},
      {"{", state, "config.json: is not valid JSON"},
      {std::string(100000, '[') + std::string(100000, ']'), state,
       "nests deeper than 64"},
      {bad_path.dump(), state, "disks[0].path: is not a string"},
      {"[1]", state, "config.json"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    auto in = ReadSnapshotJson(c.config, "config.json", c.state,
                               JsonSandbox::kInProcess);
    auto out = ReadSnapshotJson(c.config, "config.json", c.state,
                                JsonSandbox::kConfined);
    EXPECT_THAT(
        in, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.want)));
    EXPECT_EQ(out.status(), in.status());
  }
}

TEST(RewriteSnapshotJsonTest, ConfinedRewritesByteForByte) {
  const std::string config = Sim("direct-config.json");
  const std::string state = Sim("direct-state.json");
  auto in = RewriteSnapshotJson(config, "config.json", state, "state.json",
                                DirectRewrite(), kMoved, kMax,
                                JsonSandbox::kInProcess);
  auto out = RewriteSnapshotJson(config, "config.json", state, "state.json",
                                 DirectRewrite(), kMoved, kMax,
                                 JsonSandbox::kConfined);
  ASSERT_THAT(in, IsOk());
  ASSERT_THAT(out, IsOk());
  EXPECT_EQ(out->config_json, in->config_json);
  EXPECT_EQ(out->state_json, in->state_json);
  EXPECT_THAT(out->config_json, HasSubstr("/run/ch/0123456789abcdef/cow.raw"));
  EXPECT_THAT(out->state_json, HasSubstr("/run/ch/0123456789abcdef/cow.raw"));
  EXPECT_THAT(out->state_json,
              ::testing::Not(HasSubstr("/tmp/simrun/cow.raw")));
}

TEST(RewriteSnapshotJsonTest, ErrorsAreTheRewritersErrors) {
  const std::string config = Sim("direct-config.json");
  const std::string state = Sim("direct-state.json");
  Json host_file = Json::parse(config);
  host_file["payload"]["kernel"] = "/etc/shadow";
  struct Case {
    std::string config, state, want;
  } cases[] = {
      {host_file.dump(), state, "payload.kernel"},
      {config, "{", "state.json"},
      {"{", state, "config.json"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    auto in = RewriteSnapshotJson(c.config, "config.json", c.state,
                                  "state.json", DirectRewrite(), kMoved, kMax,
                                  JsonSandbox::kInProcess);
    auto out = RewriteSnapshotJson(c.config, "config.json", c.state,
                                   "state.json", DirectRewrite(), kMoved, kMax,
                                   JsonSandbox::kConfined);
    EXPECT_THAT(
        in, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.want)));
    EXPECT_EQ(out.status(), in.status());
  }
}

// A short path replaced by a long one many times over: state.json would
// grow past the limit it is read with, and is refused, naming it.
TEST(RewriteSnapshotJsonTest, RefusesAStateThatWouldGrowPastTheLimit) {
  const std::string config = Sim("direct-config.json");
  Json state = Json::array();
  for (int i = 0; i < 10000; ++i) state.push_back("/a");
  const std::string text = state.dump();
  const std::map<std::string, std::string> moved = {
      {"/a", "/" + std::string(100, 'b')}};
  for (JsonSandbox where : {JsonSandbox::kInProcess, JsonSandbox::kConfined}) {
    EXPECT_THAT(RewriteSnapshotJson(config, "config.json", text, "state.json",
                                    DirectRewrite(), moved, 100000, where),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("state.json: rewritten for this VM it "
                                   "would be 1040001 bytes, more than the "
                                   "100000")));
    EXPECT_THAT(RewriteSnapshotJson(config, "config.json", text, "state.json",
                                    DirectRewrite(), moved, 2000000, where),
                IsOk());
  }
}

}  // namespace
}  // namespace chtools::vm
