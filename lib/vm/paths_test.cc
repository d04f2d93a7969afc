#include "lib/vm/paths.h"

#include "gtest/gtest.h"

namespace chtools::vm {
namespace {

TEST(PathsTest, DerivedFromTheSettingsAndTheIdOnly) {
  ToolConfig c;
  c.set_root_dir("/r");
  c.set_run_dir("/run/x");
  c.set_log_dir("/log");
  VmPaths p = PathsFor(c, "3f9c0a1b2c3d4e5f");
  EXPECT_EQ(p.run_dir, "/run/x/cloudhypervisor/3f9c0a1b2c3d4e5f");
  EXPECT_EQ(p.log_dir, "/log/cloudhypervisor/3f9c0a1b2c3d4e5f");
  EXPECT_EQ(p.api_socket, p.run_dir + "/api.sock");
  EXPECT_EQ(p.console_socket, p.run_dir + "/console.sock");
  EXPECT_EQ(p.pid_file, p.run_dir + "/ch.pid");
  EXPECT_EQ(p.cmdline, p.run_dir + "/cmdline");
  EXPECT_EQ(p.cow_raw, p.run_dir + "/cow.raw");
  EXPECT_EQ(p.overlay, p.run_dir + "/overlay.qcow2");
  EXPECT_EQ(p.cidata, p.run_dir + "/cidata.img");
  EXPECT_EQ(p.log_file, p.log_dir + "/cloud-hypervisor.log");
  EXPECT_EQ(OpLockDir(c), "/r/cloudhypervisor/oplocks");
  EXPECT_EQ(SnapshotStoreDir(c), "/r/cloudhypervisor/snapshots");
  EXPECT_EQ(VmRunParent(c), "/run/x/cloudhypervisor");
  EXPECT_EQ(VmLogParent(c), "/log/cloudhypervisor");
}

}  // namespace
}  // namespace chtools::vm
