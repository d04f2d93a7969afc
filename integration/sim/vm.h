// The Vm object of CH (one per boot): its devices, guest RAM, guest and
// device tree. Built from a stored config at boot, reboot and restore.
#ifndef CHTOOLS_INTEGRATION_SIM_VM_H_
#define CHTOOLS_INTEGRATION_SIM_VM_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "integration/sim/console.h"
#include "integration/sim/devices.h"
#include "integration/sim/guest.h"
#include "integration/sim/schema.h"
#include "integration/sim/state.h"

namespace chtools::sim {

// What a snapshot's state.json carries into a restored Vm.
struct RestoreState {
  int vcpus = 1;
  uint64_t memory_size = 0;
  uint64_t device_id_cnt = 0;
  std::map<std::string, std::string> net_macs;  // device id -> guest MAC
  Json device_tree = Json::object();
  std::string memory_path;  // memory-ranges
};

struct Vm {
  VmState state = VmState::kCreated;
  int vcpus = 1;
  std::unique_ptr<GuestMemory> memory;
  std::vector<std::unique_ptr<DiskDevice>> disks;
  std::vector<std::unique_ptr<NetDevice>> nets;
  std::unique_ptr<ConsoleDevice> serial;
  std::unique_ptr<ConsoleDevice> console;
  std::unique_ptr<Guest> guest;
  Json device_tree = Json::object();
  uint64_t device_id_cnt = 0;
  // remove-device'd ids whose host resources go away when the guest ejects
  // them, which a paused guest cannot do.
  std::vector<std::string> pending_ejects;

  ~Vm();

  // Next auto id "<prefix><n>" from the single shared counter, skipping
  // names used in `config` or the tree.
  std::string NextDeviceName(const std::string& prefix, const Json& config);
  // Adds "<id>" and "_virtio-pci-<id>" nodes in the lowest free PCI slot;
  // returns the BDF.
  std::string AddPciNode(const std::string& id);
  // Releases an ejected device's host resources and tree nodes.
  void Eject(const std::string& id);
  // The first writable disk (disk-marker home), or null.
  DiskDevice* MarkerDisk();
};

// Builds a Vm from `config` (ids, detected image types and host MACs are
// written back into it): validates, opens disks and taps, maps RAM. With
// `restore`, RAM is filled from memory-ranges and vCPUs/RAM size/MACs come
// from the snapshot. Errors are '\n'-joined CH error chains.
absl::StatusOr<std::unique_ptr<Vm>> BuildVm(Json& config,
                                            const RestoreState* restore);

}  // namespace chtools::sim

#endif  // CHTOOLS_INTEGRATION_SIM_VM_H_
