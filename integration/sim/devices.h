// Host side of the VM's block and net devices: disk files opened, type
// detected (raw/qcow2 with backing-file checks) and OFD-locked like CH; taps
// opened by name with TUNSETIFF (one fd per queue pair).
#ifndef CHTOOLS_INTEGRATION_SIM_DEVICES_H_
#define CHTOOLS_INTEGRATION_SIM_DEVICES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "integration/sim/schema.h"
#include "lib/base/unique_fd.h"

namespace chtools::sim {

// "<strerror> (os error N)", Rust's io::Error display.
std::string OsErrorText(int err);

struct DiskDevice {
  std::string id;
  std::string path;
  bool readonly = false;
  std::string image_type;  // detected: "Raw" or "Qcow2"
  uint64_t file_size = 0;
  uint64_t qcow2_cluster_size = 0;  // 0 for raw
  uint64_t qcow2_header_end = 0;    // bytes of cluster 0 used by the header
  UniqueFd fd;
  bool locked = false;
};

// Opens the disk of a normalised DiskConfig and detects its type. Errors are
// '\n'-joined chains starting below "Error from device manager".
absl::StatusOr<std::unique_ptr<DiskDevice>> OpenDisk(const Json& cfg);

// Takes the OFD lock CH takes (write for rw disks, read for readonly).
// Error: "Error locking disk images: Another instance likely holds a lock".
absl::Status LockDisk(DiskDevice& disk);

struct NetDevice {
  std::string id;
  std::string tap;       // the interface actually attached
  std::string mac;       // guest-visible MAC
  std::string host_mac;  // the tap's own MAC
  std::vector<UniqueFd> queue_fds;
};

// Opens (creating if missing) the tap of a normalised NetConfig in the
// current network namespace, IFF_MULTI_QUEUE when num_queues > 2.
absl::StatusOr<std::unique_ptr<NetDevice>> OpenNet(const Json& cfg);

}  // namespace chtools::sim

#endif  // CHTOOLS_INTEGRATION_SIM_DEVICES_H_
