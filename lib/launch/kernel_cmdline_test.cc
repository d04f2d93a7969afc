#include "lib/launch/kernel_cmdline.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/testing/status_matchers.h"

namespace chtools::launch {
namespace {

using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kBase[] =
    "console=hvc0 loglevel=3 boot=cocoon-overlay "
    "cocoon.layers=cocoon-layer2,cocoon-layer1,cocoon-layer0 "
    "cocoon.cow=cocoon-cow clocksource=kvm-clock rw";

// Three layers and the COW, named "web" (the table of docs/cocoon-lessons.md
// §4.2).
Vm WebVm() {
  Vm vm;
  vm.mutable_config()->set_name("web");
  for (int i = 0; i < 3; ++i) {
    StorageConfig* s = vm.add_storage();
    s->set_path("/l" + std::to_string(i) + ".erofs");
    s->set_ro(true);
    s->set_serial("cocoon-layer" + std::to_string(i));
  }
  StorageConfig* cow = vm.add_storage();
  cow->set_path("/run/cow.raw");
  cow->set_serial("cocoon-cow");
  return vm;
}

void AddStatic(Vm& vm, const std::string& ip, int prefix,
               const std::string& gw) {
  NetworkConfig* n = vm.add_network();
  n->set_tap("tap" + std::to_string(vm.network_size() - 1));
  n->mutable_ipv4()->set_ip(ip);
  n->mutable_ipv4()->set_prefix(prefix);
  n->mutable_ipv4()->set_gateway(gw);
}

const std::vector<std::string> kDns = {"8.8.8.8", "1.1.1.1"};

TEST(KernelCmdlineTest, NoNics) {
  EXPECT_THAT(BuildKernelCmdline(WebVm(), kDns),
              ::chtools::testing::IsOkAndHolds(std::string(kBase)));
}

TEST(KernelCmdlineTest, OneDhcpNic) {
  Vm vm = WebVm();
  vm.add_network()->set_tap("tap0");
  EXPECT_EQ(*BuildKernelCmdline(vm, kDns),
            std::string(kBase) + " net.ifnames=0 cocoon.hostname=web");
}

TEST(KernelCmdlineTest, OneStaticNic) {
  Vm vm = WebVm();
  AddStatic(vm, "10.88.0.5", 16, "10.88.0.1");
  EXPECT_EQ(
      *BuildKernelCmdline(vm, kDns),
      std::string(kBase) +
          " net.ifnames=0 cocoon.hostname=web "
          "ip=10.88.0.5::10.88.0.1:255.255.0.0:web:eth0:off:8.8.8.8:1.1.1.1");
}

TEST(KernelCmdlineTest, NoGatewayNoDns) {
  Vm vm = WebVm();
  AddStatic(vm, "10.0.0.2", 24, "");
  EXPECT_EQ(*BuildKernelCmdline(vm, {}),
            std::string(kBase) +
                " net.ifnames=0 cocoon.hostname=web "
                "ip=10.0.0.2:::255.255.255.0:web:eth0:off");
}

TEST(KernelCmdlineTest, TwoStaticNics) {
  Vm vm = WebVm();
  AddStatic(vm, "10.88.0.5", 16, "10.88.0.1");
  AddStatic(vm, "10.89.0.7", 24, "10.89.0.1");
  EXPECT_EQ(
      *BuildKernelCmdline(vm, kDns),
      std::string(kBase) +
          " net.ifnames=0 cocoon.hostname=web "
          "ip=10.88.0.5::10.88.0.1:255.255.0.0:web:eth0:off:8.8.8.8:1.1.1.1 "
          "ip=10.89.0.7::10.89.0.1:255.255.255.0:web:eth1:off:8.8.8.8:1.1.1.1");
}

TEST(KernelCmdlineTest, DhcpThenStaticOneDns) {
  Vm vm = WebVm();
  vm.add_network()->set_tap("tap0");
  AddStatic(vm, "10.89.0.7", 24, "10.89.0.1");
  EXPECT_EQ(*BuildKernelCmdline(vm, {"9.9.9.9"}),
            std::string(kBase) +
                " net.ifnames=0 cocoon.hostname=web "
                "ip=10.89.0.7::10.89.0.1:255.255.255.0:web:eth1:off:9.9.9.9");
}

TEST(KernelCmdlineTest, AtMostTwoDnsAndNoIpv6) {
  Vm vm = WebVm();
  AddStatic(vm, "10.0.0.2", 24, "10.0.0.1");
  std::string out = *BuildKernelCmdline(
      vm, {"2001:4860:4860::8888", "8.8.8.8", "1.1.1.1", "9.9.9.9"});
  EXPECT_THAT(out, ::testing::EndsWith(":eth0:off:8.8.8.8:1.1.1.1"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("2001")));
}

TEST(KernelCmdlineTest, InvalidPrefixIsAnInputError) {
  Vm vm = WebVm();
  AddStatic(vm, "10.0.0.2", 33, "");
  EXPECT_THAT(BuildKernelCmdline(vm, kDns),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("network[0].ipv4.prefix")));
  Vm vm0 = WebVm();
  AddStatic(vm0, "10.0.0.2", 0, "");
  EXPECT_THAT(BuildKernelCmdline(vm0, kDns),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(KernelCmdlineTest, BadAddressesAreInputErrors) {
  Vm vm = WebVm();
  AddStatic(vm, "10.0.0.300", 24, "");
  EXPECT_THAT(BuildKernelCmdline(vm, kDns),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("network[0].ipv4.ip")));
  EXPECT_THAT(
      BuildKernelCmdline(WebVm(), {"not-an-ip"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not-an-ip")));
}

TEST(KernelCmdlineTest, ReadOnlyDiskWithoutSerialIsAnInputError) {
  Vm vm = WebVm();
  vm.mutable_storage(1)->clear_serial();
  EXPECT_THAT(
      BuildKernelCmdline(vm, kDns),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("storage[1]")));
}

TEST(KernelCmdlineTest, ReverseLayerSerials) {
  Vm vm;
  vm.add_storage()->set_ro(true);
  vm.mutable_storage(0)->set_serial("cocoon-layer0");
  vm.add_storage()->set_ro(true);
  vm.mutable_storage(1)->set_serial("cocoon-layer1");
  vm.add_storage()->set_serial("cocoon-cow");
  EXPECT_THAT(*ReverseLayerSerials(vm.storage()),
              ::testing::ElementsAre("cocoon-layer1", "cocoon-layer0"));
}

TEST(KernelCmdlineTest, Netmasks) {
  EXPECT_EQ(*PrefixToNetmask(16), "255.255.0.0");
  EXPECT_EQ(*PrefixToNetmask(24), "255.255.255.0");
  EXPECT_EQ(*PrefixToNetmask(32), "255.255.255.255");
  EXPECT_EQ(*PrefixToNetmask(1), "128.0.0.0");
  EXPECT_EQ(*PrefixToNetmask(20), "255.255.240.0");
  EXPECT_FALSE(PrefixToNetmask(-1).ok());
}

}  // namespace
}  // namespace chtools::launch
