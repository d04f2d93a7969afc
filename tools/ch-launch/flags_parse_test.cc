#include "tools/ch-launch/flags_parse.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/testing/status_matchers.h"

namespace ch_launch {
namespace {

using ::chtools::testing::IsOkAndHolds;
using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ParseSizeTest, BinaryMultiples) {
  EXPECT_THAT(ParseSize("memory", "1G"), IsOkAndHolds(int64_t{1} << 30));
  EXPECT_THAT(ParseSize("memory", "512m"), IsOkAndHolds(int64_t{512} << 20));
  EXPECT_THAT(ParseSize("memory", "10GiB"), IsOkAndHolds(int64_t{10} << 30));
  EXPECT_THAT(ParseSize("memory", "2kb"), IsOkAndHolds(2048));
  EXPECT_THAT(ParseSize("memory", "4096"), IsOkAndHolds(4096));
}

TEST(ParseSizeTest, Rejects) {
  for (const char* bad : {"", "G", "1X", "1.5G", "-1G", "99999999999P"}) {
    EXPECT_THAT(
        ParseSize("storage", bad),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--storage=")))
        << bad;
  }
}

TEST(ParseNicSpecTest, Full) {
  ASSERT_OK_AND_ASSIGN(chtools::NetworkConfig n,
                       ParseNicSpec("tap=tap0,mac=02:00:00:00:00:01,netns=vm1,"
                                    "ip=10.0.0.2/24,gw=10.0.0.1"));
  EXPECT_EQ(n.tap(), "tap0");
  EXPECT_EQ(n.mac(), "02:00:00:00:00:01");
  EXPECT_EQ(n.netns_path(), "/var/run/netns/vm1");
  EXPECT_EQ(n.ipv4().ip(), "10.0.0.2");
  EXPECT_EQ(n.ipv4().prefix(), 24);
  EXPECT_EQ(n.ipv4().gateway(), "10.0.0.1");
  ASSERT_OK_AND_ASSIGN(n, ParseNicSpec("tap=t,netns=/proc/1/ns/net"));
  EXPECT_EQ(n.netns_path(), "/proc/1/ns/net");
  EXPECT_FALSE(n.has_ipv4());
}

TEST(ParseNicSpecTest, Rejects) {
  EXPECT_THAT(ParseNicSpec("mac=02:00:00:00:00:01"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tap=")));
  EXPECT_THAT(
      ParseNicSpec("tap=t,ip=10.0.0.2"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("prefix")));
  EXPECT_THAT(ParseNicSpec("tap=t,ip=10.0.0.2/33"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      ParseNicSpec("tap=t,gw=10.0.0.1"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs ip")));
  EXPECT_THAT(
      ParseNicSpec("tap=t,color=red"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown key")));
}

TEST(VmFromFlagsTest, DirectBoot) {
  CreateFlags f{.name = "web",
                .cpu = "1",
                .memory = "512M",
                .layers = {"/l0", "/l1"},
                .kernel = "/k",
                .initrd = "/i",
                .nics = {"tap=tap0"}};
  ASSERT_OK_AND_ASSIGN(chtools::Vm vm, VmFromFlags(f));
  EXPECT_EQ(vm.config().cpu(), 1);
  EXPECT_EQ(vm.config().memory_bytes(), int64_t{512} << 20);
  EXPECT_EQ(vm.config().storage_bytes(), int64_t{10} << 30);
  ASSERT_EQ(vm.storage_size(), 2);
  EXPECT_EQ(vm.storage(1).serial(), "cocoon-layer1");
  EXPECT_TRUE(vm.storage(1).ro());
  EXPECT_EQ(vm.network(0).tap(), "tap0");
}

TEST(VmFromFlagsTest, CloudImageAndConflicts) {
  ASSERT_OK_AND_ASSIGN(
      chtools::Vm vm,
      VmFromFlags({.name = "c", .base = "/b.qcow2", .firmware = "/fw"}));
  EXPECT_EQ(vm.boot().firmware_path(), "/fw");
  EXPECT_EQ(vm.storage(0).path(), "/b.qcow2");
  EXPECT_FALSE(
      VmFromFlags({.name = "c", .kernel = "/k", .initrd = "/i", .base = "/b"})
          .ok());
  EXPECT_FALSE(VmFromFlags({.name = "c", .kernel = "/k"}).ok());
  EXPECT_FALSE(VmFromFlags({.name = "c"}).ok());
  EXPECT_FALSE(VmFromFlags({.kernel = "/k", .initrd = "/i"}).ok());
}

}  // namespace
}  // namespace ch_launch
