#include "lib/launch/ch_command.h"

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/launch/golden_test_util.h"
#include "lib/launch/kernel_cmdline.h"
#include "lib/testing/status_matchers.h"

namespace chtools::launch {
namespace {

using ::chtools::testing::StatusIs;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRoot[] = "/var/lib/cocoon";
constexpr char kRun[] = "/var/lib/cocoon/run/cloudhypervisor/3f9c0a1b2c3d4e5f";

// The run dir of the record stands in for the one the settings derive.
chtools::vm::VmPaths PathsOf(const Vm& v) {
  return chtools::vm::PathsIn(v.run_dir(), "/log");
}

std::string Lines(const std::vector<std::string>& args) {
  return absl::StrJoin(args, "\n") + "\n";
}

// The OCI VM of docs/cocoon-lessons.md §4.1: cpu 2, 1 GiB, 2 layers, one static
// NIC.
Vm OciVm() {
  Vm vm;
  vm.set_id("3f9c0a1b2c3d4e5f");
  vm.set_run_dir(kRun);
  vm.mutable_config()->set_name("web");
  vm.mutable_config()->set_cpu(2);
  vm.mutable_config()->set_memory_bytes(int64_t{1} << 30);
  const char* layers[] = {"aaaa", "bbbb"};
  for (int i = 0; i < 2; ++i) {
    StorageConfig* s = vm.add_storage();
    s->set_path(std::string(kRoot) + "/oci/blobs/" + layers[i] + ".erofs");
    s->set_ro(true);
    s->set_serial("cocoon-layer" + std::to_string(i));
  }
  StorageConfig* cow = vm.add_storage();
  cow->set_path(std::string(kRun) + "/cow.raw");
  cow->set_serial("cocoon-cow");
  NetworkConfig* n = vm.add_network();
  n->set_tap("tap0");
  n->set_mac("02:42:0a:58:00:05");
  n->set_num_queues(4);
  n->set_queue_size(256);
  n->mutable_ipv4()->set_ip("10.88.0.5");
  n->mutable_ipv4()->set_gateway("10.88.0.1");
  n->mutable_ipv4()->set_prefix(16);
  vm.mutable_boot()->set_kernel_path(std::string(kRoot) +
                                     "/oci/boot/cccc/vmlinuz");
  vm.mutable_boot()->set_initrd_path(std::string(kRoot) +
                                     "/oci/boot/dddd/initrd.img");
  vm.mutable_boot()->set_cmdline(
      *BuildKernelCmdline(vm, {"8.8.8.8", "1.1.1.1"}));
  return vm;
}

Vm CloudVm() {
  Vm vm;
  vm.set_id("3f9c0a1b2c3d4e5f");
  vm.set_run_dir(kRun);
  vm.mutable_config()->set_name("web");
  vm.mutable_config()->set_cpu(2);
  vm.mutable_config()->set_memory_bytes(int64_t{1} << 30);
  vm.add_storage()->set_path(std::string(kRun) + "/overlay.qcow2");
  vm.add_storage()->set_path(std::string(kRun) + "/cidata.img");
  vm.mutable_storage(1)->set_ro(true);
  vm.mutable_boot()->set_firmware_path(std::string(kRoot) +
                                       "/firmware/CLOUDHV.fd");
  return vm;
}

TEST(ChCommandTest, OciExampleOfTheReference) {
  ASSERT_OK_AND_ASSIGN(auto args,
                       BuildChArgs(OciVm(), PathsOf(OciVm()), {.cpus = 16}));
  ExpectGolden("oci_2cpu_static.args.golden", Lines(args));
}

TEST(ChCommandTest, CloudImageFirstBoot) {
  ASSERT_OK_AND_ASSIGN(
      auto args, BuildChArgs(CloudVm(), PathsOf(CloudVm()), {.cpus = 16}));
  ExpectGolden("cloudimg_first_boot.args.golden", Lines(args));
}

TEST(ChCommandTest, CidataLeftOutAfterFirstBoot) {
  Vm vm = CloudVm();
  vm.set_first_booted(true);
  ASSERT_OK_AND_ASSIGN(auto args, BuildChArgs(vm, PathsOf(vm), {.cpus = 16}));
  EXPECT_THAT(Lines(args), Not(HasSubstr("cidata.img")));
  EXPECT_THAT(Lines(args), HasSubstr("overlay.qcow2"));
  // A direct-boot VM keeps every disk after its first boot.
  Vm oci = OciVm();
  oci.set_first_booted(true);
  EXPECT_EQ(*BuildChArgs(oci, PathsOf(oci), {.cpus = 16}),
            *BuildChArgs(OciVm(), PathsOf(OciVm()), {.cpus = 16}));
}

TEST(ChCommandTest, OneCpuHasNoQueueAffinity) {
  Vm vm = OciVm();
  vm.mutable_config()->set_cpu(1);
  ASSERT_OK_AND_ASSIGN(auto args, BuildChArgs(vm, PathsOf(vm), {.cpus = 16}));
  EXPECT_THAT(args, Contains(std::string("path=") + kRun +
                             "/cow.raw,direct=on,sparse=on,image_type=raw,"
                             "num_queues=1,queue_size=512,serial=cocoon-cow"));
  EXPECT_THAT(args, Contains("boot=1,max=16"));
  // Two queues (one rx/tx pair) for one vCPU, whatever the record said.
  EXPECT_THAT(
      args,
      Contains(HasSubstr("tap=tap0,mac=02:42:0a:58:00:05,num_queues=2,")));
}

TEST(ChCommandTest, NicQueuesFollowTheVcpusChGets) {
  Vm vm = OciVm();
  vm.mutable_config()->set_cpu(3);
  vm.mutable_network(0)->set_num_queues(2);
  ASSERT_OK_AND_ASSIGN(auto args, BuildChArgs(vm, PathsOf(vm), {.cpus = 4}));
  EXPECT_THAT(args, Contains(HasSubstr("num_queues=6,queue_size=256")));
  EXPECT_THAT(args, Contains(HasSubstr("queue_affinity=[0@[0],1@[1],2@[2]]")));
}

TEST(ChCommandTest, MoreVcpusThanTheHostIsRefused) {
  Vm vm = OciVm();
  vm.mutable_config()->set_cpu(4);
  EXPECT_THAT(BuildChArgs(vm, PathsOf(vm), {.cpus = 2}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("4 vCPUs requested but the host has 2 CPUs")));
}

TEST(ChCommandTest, HugepagesWhenTheHostHasThem) {
  ASSERT_OK_AND_ASSIGN(auto args, BuildChArgs(OciVm(), PathsOf(OciVm()),
                                              {.cpus = 16, .hugepages = true}));
  EXPECT_THAT(args, Contains("size=1073741824,hugepages=on"));
}

TEST(ChCommandTest, BalloonOnlyFrom256MiB) {
  Vm vm = OciVm();
  vm.mutable_config()->set_memory_bytes((int64_t{256} << 20) - 1);
  EXPECT_THAT(*BuildChArgs(vm, PathsOf(vm), {.cpus = 16}),
              Not(Contains("--balloon")));
  vm.mutable_config()->set_memory_bytes(int64_t{256} << 20);
  EXPECT_THAT(
      *BuildChArgs(vm, PathsOf(vm), {.cpus = 16}),
      Contains("size=67108864,deflate_on_oom=on,free_page_reporting=on"));
}

TEST(ChCommandTest, WindowsGetsHypervAndNoBalloonAndNoCidata) {
  Vm vm = CloudVm();
  vm.mutable_config()->set_windows(true);
  vm.mutable_storage()->RemoveLast();
  ASSERT_OK_AND_ASSIGN(auto args, BuildChArgs(vm, PathsOf(vm), {.cpus = 16}));
  EXPECT_THAT(args, Contains("boot=2,max=16,kvm_hyperv=on"));
  EXPECT_THAT(args, Not(Contains("--balloon")));
}

TEST(ChCommandTest, NoDisksNoNicsOmitsTheFlags) {
  Vm vm = CloudVm();
  vm.clear_storage();
  ASSERT_OK_AND_ASSIGN(auto args, BuildChArgs(vm, PathsOf(vm), {.cpus = 16}));
  EXPECT_THAT(args, Not(Contains("--disk")));
  EXPECT_THAT(args, Not(Contains("--net")));
}

TEST(ChCommandTest, RejectsUnbootableRecords) {
  Vm vm = CloudVm();
  vm.mutable_boot()->clear_firmware_path();
  EXPECT_THAT(BuildChArgs(vm, PathsOf(vm), {.cpus = 16}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  vm = CloudVm();
  vm.mutable_config()->set_cpu(0);
  EXPECT_THAT(BuildChArgs(vm, PathsOf(vm), {.cpus = 16}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ChCommandTest, DiskArgMapping) {
  StorageConfig ro_qcow;
  ro_qcow.set_path("/b.qcow2");
  ro_qcow.set_ro(true);
  EXPECT_EQ(
      DiskArg(ro_qcow, 1),
      "path=/b.qcow2,readonly=on,image_type=qcow2,num_queues=1,queue_size=512");
}

}  // namespace
}  // namespace chtools::launch
