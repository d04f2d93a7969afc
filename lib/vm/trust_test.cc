#include "lib/vm/trust.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"
#include "lib/vm/paths.h"

namespace chtools::vm {
namespace {

using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kId[] = "3f9c0a1b2c3d4e5f";
constexpr char kOther[] = "0123456789abcdef";

ToolConfig Config(const std::string& root) {
  ToolConfig c;
  c.set_root_dir(root);
  c.set_run_dir(root + "/run");
  c.set_log_dir(root + "/log");
  return c;
}

Vm DirectVm(const ToolConfig& c) {
  Vm vm;
  vm.set_id(kId);
  VmPaths p = PathsFor(c, kId);
  vm.set_run_dir(p.run_dir);
  vm.set_log_dir(p.log_dir);
  StorageConfig* l = vm.add_storage();
  l->set_path("/img/layer.erofs");
  l->set_ro(true);
  vm.add_storage()->set_path(p.cow_raw);
  vm.mutable_boot()->set_kernel_path("/img/vmlinuz");
  vm.mutable_boot()->set_initrd_path("/img/initrd");
  return vm;
}

TEST(CheckRecordPathsTest, TheVmsOwnPathsPass) {
  ToolConfig c = Config("/r");
  EXPECT_OK(CheckRecordPaths(c, DirectVm(c)));
  Vm no_dirs = DirectVm(c);
  no_dirs.clear_run_dir();
  no_dirs.clear_log_dir();
  EXPECT_OK(CheckRecordPaths(c, no_dirs));
}

TEST(CheckRecordPathsTest, RunAndLogDirsAreNeverTakenFromTheRecord) {
  ToolConfig c = Config("/r");
  for (const char* dir :
       {"/", "/etc", "", "/r/run/cloudhypervisor/0123456789abcdef",
        "/r/run/cloudhypervisor/3f9c0a1b2c3d4e5f/..", "relative"}) {
    Vm vm = DirectVm(c);
    vm.set_run_dir(dir);
    if (std::string(dir).empty()) {
      EXPECT_OK(CheckRecordPaths(c, vm));
      continue;
    }
    EXPECT_THAT(CheckRecordPaths(c, vm, "vm[0]"),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("vm[0].run_dir")))
        << dir;
    vm = DirectVm(c);
    vm.set_log_dir(dir);
    EXPECT_THAT(
        CheckRecordPaths(c, vm),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("log_dir")))
        << dir;
  }
}

TEST(CheckRecordPathsTest, AWritableDiskIsOnlyTheVmsOwn) {
  ToolConfig c = Config("/r");
  for (const std::string& path :
       {std::string("/etc/shadow"), std::string("/dev/sda"),
        PathsFor(c, kOther).cow_raw,
        PathsFor(c, kId).run_dir + "/../" + kOther + "/cow.raw"}) {
    Vm vm = DirectVm(c);
    vm.mutable_storage(1)->set_path(path);
    EXPECT_THAT(
        CheckRecordPaths(c, vm),
        StatusIs(
            absl::StatusCode::kInvalidArgument,
            HasSubstr("storage[1].path: a writable disk must be the VM's own")))
        << path;
  }
}

TEST(CheckRecordPathsTest, ImagesMayNotLieInAnyVmsDirs) {
  ToolConfig c = Config("/r");
  Vm vm = DirectVm(c);
  vm.mutable_storage(0)->set_path(
      PathsFor(c, kOther).cow_raw);  // read-only, but another VM's
  EXPECT_THAT(CheckRecordPaths(c, vm),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("storage[0].path")));
  vm = DirectVm(c);
  vm.mutable_boot()->set_kernel_path("/r/run/cloudhypervisor/x/../" +
                                     std::string(kOther) + "/cow.raw");
  EXPECT_THAT(CheckRecordPaths(c, vm),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("boot.kernel_path")));
  vm = DirectVm(c);
  vm.mutable_storage(0)->set_path(
      PathsFor(c, kId).cidata);  // its own seed disk
  EXPECT_OK(CheckRecordPaths(c, vm));
}

TEST(CheckBootFilesTest, RegularFilesOutsideTheVmDirsOnly) {
  testing::TempDir dir;
  ToolConfig c = Config(dir.path());
  VmPaths p = PathsFor(c, kId);
  VmPaths other = PathsFor(c, kOther);
  ASSERT_EQ(::system(("mkdir -p " + p.run_dir + " " + other.run_dir + " " +
                      dir.Join("img"))
                         .c_str()),
            0);
  for (const std::string& f :
       {p.cow_raw, other.cow_raw, dir.Join("img/layer"),
        dir.Join("img/vmlinuz"), dir.Join("img/initrd")}) {
    std::ofstream(f) << "x";
  }
  Vm vm = DirectVm(c);
  vm.mutable_storage(0)->set_path(dir.Join("img/layer"));
  vm.mutable_boot()->set_kernel_path(dir.Join("img/vmlinuz"));
  vm.mutable_boot()->set_initrd_path(dir.Join("img/initrd"));
  EXPECT_OK(CheckBootFiles(c, vm));
  // A device is not an image.
  vm.mutable_boot()->set_initrd_path("/dev/null");
  EXPECT_THAT(CheckBootFiles(c, vm),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("/dev/null is not a regular file")));
  // A symlink from outside into another VM's dir.
  vm.mutable_boot()->set_initrd_path(dir.Join("img/initrd"));
  ASSERT_EQ(::symlink(other.cow_raw.c_str(), dir.Join("img/sneaky").c_str()),
            0);
  vm.mutable_storage(0)->set_path(dir.Join("img/sneaky"));
  EXPECT_THAT(CheckBootFiles(c, vm),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("inside the VMs' run or log dirs")));
  // The VM's own disk is gone: said with its path.
  vm.mutable_storage(0)->set_path(dir.Join("img/layer"));
  ASSERT_EQ(::unlink(p.cow_raw.c_str()), 0);
  EXPECT_THAT(
      CheckBootFiles(c, vm),
      StatusIs(
          absl::StatusCode::kFailedPrecondition,
          HasSubstr("storage[1]: " + p.cow_raw +
                    ": No such file or directory: the VM's disk is gone")));
}

}  // namespace
}  // namespace chtools::vm
