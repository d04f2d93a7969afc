#include "lib/launch/cidata.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/launch/golden_test_util.h"
#include "lib/testing/status_matchers.h"

namespace chtools::launch {
namespace {

using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// The worked example of docs/cocoon-lessons.md §4.5.
Vm Web1() {
  Vm vm;
  vm.set_id("0123456789abcdef");
  vm.mutable_config()->set_name("web-1");
  NetworkConfig* n0 = vm.add_network();
  n0->set_tap("tap0");
  n0->set_mac("02:00:0a:58:00:05");
  n0->mutable_ipv4()->set_ip("10.88.0.5");
  n0->mutable_ipv4()->set_prefix(16);
  n0->mutable_ipv4()->set_gateway("10.88.0.1");
  NetworkConfig* n1 = vm.add_network();
  n1->set_tap("tap1");
  n1->set_mac("02:00:0a:59:00:07");
  return vm;
}

const std::vector<std::string> kDns = {"8.8.8.8", "1.1.1.1"};

TEST(CidataTest, WorkedExample) {
  ASSERT_OK_AND_ASSIGN(CidataFiles f,
                       BuildCidataFiles(Web1(), "it's-secret", kDns));
  EXPECT_EQ(f.meta_data.size(), 52u);
  ExpectGolden("web-1.meta-data.golden", f.meta_data);
  ASSERT_TRUE(f.network_config.has_value());
  // cocoon's 311 bytes with `to: 0.0.0.0/0` for `to: default`.
  EXPECT_EQ(f.network_config->size(), 313u);
  ExpectGolden("web-1.network-config.golden", *f.network_config);
  // cocoon's 677 bytes plus "[Link]\n" and a blank line per NIC.
  EXPECT_EQ(f.user_data.size(), 677u + 2 * 14);
  ExpectGolden("web-1.user-data.golden", f.user_data);
}

TEST(CidataTest, RequiredForOnlineIsUnderLink) {
  ASSERT_OK_AND_ASSIGN(CidataFiles f, BuildCidataFiles(Web1(), "", kDns));
  EXPECT_THAT(
      f.user_data,
      HasSubstr("[Link]\n      RequiredForOnline=yes\n\n      [Network]\n"));
  EXPECT_THAT(
      f.user_data,
      HasSubstr("[Link]\n      RequiredForOnline=no\n\n      [Network]\n"));
}

TEST(CidataTest, NoPasswordNoNics) {
  Vm vm;
  vm.set_id("0123456789abcdef");
  vm.mutable_config()->set_name("web-1");
  ASSERT_OK_AND_ASSIGN(CidataFiles f, BuildCidataFiles(vm, "", kDns));
  EXPECT_EQ(f.user_data,
            "#cloud-config\nwarnings:\n  dsid_missing_source: off\n");
  EXPECT_EQ(f.user_data.size(), 51u);
  EXPECT_FALSE(f.network_config.has_value());
}

TEST(CidataTest, NicsWithoutMacAreLeftOut) {
  Vm vm = Web1();
  vm.mutable_network(0)->clear_mac();
  ASSERT_OK_AND_ASSIGN(CidataFiles f, BuildCidataFiles(vm, "", kDns));
  EXPECT_THAT(
      *f.network_config,
      HasSubstr("id0:\n    match:\n      macaddress: \"02:00:0a:59:00:07\""));
  EXPECT_THAT(*f.network_config, Not(HasSubstr("id1")));
}

// metadata_test.go vectors.
TEST(CidataTest, UserDataNoBootcmd) {
  Vm vm = Web1();
  vm.mutable_network()->RemoveLast();
  vm.mutable_network(0)->set_mac("aa:bb:cc:dd:ee:f0");
  vm.mutable_network(0)->mutable_ipv4()->set_ip("10.0.0.2");
  vm.mutable_network(0)->mutable_ipv4()->set_prefix(24);
  ASSERT_OK_AND_ASSIGN(CidataFiles f, BuildCidataFiles(vm, "test", kDns));
  EXPECT_THAT(f.user_data, Not(HasSubstr("bootcmd:")));
  for (const char* s :
       {"root:test", "dsid_missing_source: off",
        "write_files:", "/etc/systemd/network/15-cocoon-id0.network",
        "MACAddress=aa:bb:cc:dd:ee:f0", "RequiredForOnline=yes"}) {
    EXPECT_THAT(f.user_data, HasSubstr(s));
  }
}

TEST(CidataTest, NetworkConfigGatewayOptional) {
  Vm vm = Web1();
  vm.mutable_network()->RemoveLast();
  vm.mutable_network(0)->mutable_ipv4()->clear_gateway();
  ASSERT_OK_AND_ASSIGN(CidataFiles f, BuildCidataFiles(vm, "", {"8.8.8.8"}));
  EXPECT_THAT(*f.network_config, Not(HasSubstr("routes:")));
  EXPECT_THAT(*f.network_config, HasSubstr("- 8.8.8.8"));
}

// cloud-init 22.4 fails on netplan's `to: default` outside its netplan
// renderer; cidata_cloudinit_test runs the real renderers.
TEST(CidataTest, DefaultRouteIsAnAddressEveryRendererParses) {
  ASSERT_OK_AND_ASSIGN(CidataFiles f, BuildCidataFiles(Web1(), "", kDns));
  EXPECT_THAT(
      *f.network_config,
      HasSubstr(
          "    routes:\n      - to: 0.0.0.0/0\n        via: 10.88.0.1\n"));
  EXPECT_THAT(*f.network_config, Not(HasSubstr("default")));
}

TEST(CidataTest, BadPrefixIsAnInputError) {
  Vm vm = Web1();
  vm.mutable_network(0)->mutable_ipv4()->set_prefix(40);
  EXPECT_THAT(BuildCidataFiles(vm, "", kDns),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("network[0].ipv4.prefix")));
}

}  // namespace
}  // namespace chtools::launch
