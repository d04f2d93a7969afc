// Tests of CLI -> VmConfig, validation and the clap command-line rules.
#include "integration/sim/vm_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/sim/cli.h"
#include "lib/testing/status_matchers.h"

namespace chtools::sim {
namespace {

using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;

absl::StatusOr<Json> FromArgs(const std::vector<std::string>& args) {
  absl::StatusOr<CliArgs> cli = ParseCommandLine(args);
  if (!cli.ok()) return cli.status();
  return VmConfigFromCli(cli->values);
}

TEST(CliTest, CocoonCommandLine) {
  absl::StatusOr<Json> c = FromArgs(
      {"--api-socket",
       "/run/api.sock",
       "--cpus",
       "boot=2,max=16",
       "--memory",
       "size=1073741824",
       "--disk",
       "path=/b/"
       "l0.erofs,readonly=on,image_type=raw,num_queues=2,queue_size=512,"
       "serial=cocoon-layer0",
       "path=/r/"
       "cow.raw,direct=on,sparse=on,image_type=raw,num_queues=2,queue_size=512,"
       "queue_affinity=[0@[0],1@[1]],serial=cocoon-cow",
       "--kernel",
       "/k",
       "--initramfs",
       "/i",
       "--cmdline",
       "console=hvc0 rw",
       "--net",
       "tap=tap0,mac=02:42:0a:58:00:05,num_queues=4,queue_size=256,offload_tso="
       "on,"
       "offload_ufo=on,offload_csum=on",
       "--rng",
       "src=/dev/urandom",
       "--watchdog",
       "--balloon",
       "size=268435456,deflate_on_oom=on,free_page_reporting=on",
       "--serial",
       "off",
       "--console",
       "pty"});
  ASSERT_OK(c);
  EXPECT_EQ((*c)["cpus"]["boot_vcpus"], 2);
  EXPECT_EQ((*c)["cpus"]["max_vcpus"], 16);
  EXPECT_EQ((*c)["memory"]["size"], 1073741824);
  ASSERT_EQ((*c)["disks"].size(), 2u);
  EXPECT_EQ((*c)["disks"][0]["readonly"], true);
  EXPECT_EQ((*c)["disks"][0]["image_type"], "Raw");
  EXPECT_EQ(
      (*c)["disks"][1]["queue_affinity"].dump(),
      R"([{"queue_index":0,"host_cpus":[0]},{"queue_index":1,"host_cpus":[1]}])");
  EXPECT_EQ((*c)["net"][0]["num_queues"], 4);
  EXPECT_EQ(
      (*c)["payload"].dump(),
      R"({"firmware":null,"kernel":"/k","cmdline":"console=hvc0 rw","initramfs":"/i"})");
  EXPECT_EQ((*c)["watchdog"], true);
  EXPECT_EQ((*c)["serial"]["mode"], "Off");
  EXPECT_EQ((*c)["console"]["mode"], "Pty");
  EXPECT_EQ((*c)["balloon"]["size"], 268435456);
}

TEST(CliTest, UsageErrors) {
  EXPECT_THAT(
      ParseCommandLine(
          {"--kernel", "k", "--disk", "path=a", "--disk", "path=b"}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("the argument '--disk <disk>...' cannot be used "
                         "multiple times")));
  EXPECT_THAT(ParseCommandLine(
                  {"--restore", "source_url=file:///s", "--serial", "pty"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("<--kernel <kernel>|--firmware <firmware>>")));
  EXPECT_THAT(ParseCommandLine({"--gdb", "path=x"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unexpected argument '--gdb' found")));
  EXPECT_THAT(
      ParseCommandLine({"--kernel"}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("a value is required for '--kernel <kernel>'")));
  EXPECT_OK(
      ParseCommandLine({"--api-socket", "/a", "-vv", "--log-file", "/l"}));
}

TEST(CliTest, ValueErrorsAreChains) {
  EXPECT_THAT(FromArgs({"--kernel", "k", "--disk", "path=a,foo=1"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Error parsing --disk\nunknown option: foo"));
  EXPECT_THAT(
      FromArgs({"--kernel", "k", "--memory", "size=1T"}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "Error parsing --memory\nunable to convert 1T for size"));
  // console=socket parses; it is refused only when the VM is created.
  EXPECT_OK(FromArgs({"--kernel", "k", "--console", "socket=/x"}));
  EXPECT_THAT(
      FromArgs({"--kernel", "k", "--serial", "file="}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "Error parsing --serial\nPath missing when using file/socket "
               "console mode"));
  EXPECT_THAT(FromArgs({"--kernel", "k", "--serial", "iommu=on"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Error parsing --serial\ninvalid console mode given"));
  EXPECT_THAT(
      FromArgs({"--kernel", "k", "--cpus", "boot=4,max=2"}),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          "Error validating configuration\nMax CPUs lower than boot CPUs"));
  EXPECT_THAT(
      FromArgs({"--kernel", "k", "--net", "ip=10.0.0.1"}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "Error validating configuration\nIP provided without a mask"));
}

TEST(CliTest, FirmwareDropsCmdline) {
  absl::StatusOr<Json> c = FromArgs({"--firmware", "/fw", "--cmdline", "x"});
  ASSERT_OK(c);
  EXPECT_TRUE((*c)["payload"]["cmdline"].is_null());
}

TEST(RestoreCliTest, V51HasNoResumeKey) {
  EXPECT_THAT(RestoreConfigFromCli("source_url=file:///s,resume=true"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Error parsing --restore\nunknown option: resume"));
  EXPECT_THAT(RestoreConfigFromCli("prefault=on"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Error parsing --restore: source_url missing"));
  absl::StatusOr<Json> r =
      RestoreConfigFromCli("source_url=file:///s,prefault=on");
  ASSERT_OK(r);
  EXPECT_EQ((*r)["prefault"], true);
}

TEST(ApiSocketTest, BarePathPathAndFd) {
  EXPECT_EQ(ParseApiSocket("/run/a.sock")->path, "/run/a.sock");
  EXPECT_EQ(ParseApiSocket("path=/run/b.sock")->path, "/run/b.sock");
  EXPECT_EQ(ParseApiSocket("fd=7")->fd, 7);
  EXPECT_THAT(ParseApiSocket("fd=x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ValidateTest, IdsAndQueues) {
  Json c = *FromArgs({"--kernel", "k"});
  c["disks"] = Json::array({Json{{"path", "/a"},
                                 {"id", "__x"},
                                 {"num_queues", 1},
                                 {"queue_size", 128},
                                 {"serial", nullptr},
                                 {"vhost_socket", nullptr},
                                 {"vhost_user", false}}});
  EXPECT_THAT(ValidateVmConfig(c), StatusIs(absl::StatusCode::kInvalidArgument,
                                            "Identifier __x is not invalid"));
  c["disks"][0]["id"] = "d";
  c["disks"].push_back(c["disks"][0]);
  EXPECT_THAT(ValidateVmConfig(c), StatusIs(absl::StatusCode::kInvalidArgument,
                                            "Identifier d is not unique"));
  c["disks"].erase(1);
  c["disks"][0]["num_queues"] = 2;
  EXPECT_THAT(ValidateVmConfig(c),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("exceeds the number of vCPUs")));
  c["payload"] = nullptr;
  EXPECT_THAT(
      ValidateVmConfig(c),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "Payload configuration is not bootable\nNo bootitem provided: "
               "neither firmware nor kernel"));
}

}  // namespace
}  // namespace chtools::sim
