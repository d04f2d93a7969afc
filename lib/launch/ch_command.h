// The Cloud Hypervisor command line of a cold boot, built from a Vm record
// exactly as cocoon does (docs/cocoon-lessons.md §4.1), with its lessons: a
// vCPU count above the host's is an error (never clamped), NIC queues follow
// the vCPUs CH really gets, Windows guests get no balloon.
#ifndef CHTOOLS_LIB_LAUNCH_CH_COMMAND_H_
#define CHTOOLS_LIB_LAUNCH_CH_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/record/records.pb.h"
#include "lib/vm/paths.h"

namespace chtools::launch {

// What the command depends on besides the record (read by the caller).
struct HostFacts {
  int cpus = 1;            // online host CPUs: the --cpus max
  bool hugepages = false;  // /proc/sys/vm/nr_hugepages > 0
};

// Balloon only at or above this much guest memory.
inline constexpr int64_t kBalloonMinMemory = int64_t{256} << 20;
inline constexpr int kDiskQueueSize = 512;
inline constexpr int kDefaultNetQueueSize = 256;

// True iff the VM boots a kernel directly (OCI images); else UEFI firmware.
bool IsDirectBoot(const Vm& vm);

// True for the NoCloud seed disk (basename cidata.img).
bool IsCidataDisk(const StorageConfig& disk);

// virtio-net queues for `vcpus` vCPUs: one rx+tx pair per vCPU, at least 2.
int NetQueues(int vcpus);

// The disks attached at boot, in order: every disk except cidata.img once a
// firmware-booted VM has booted.
std::vector<StorageConfig> BootDisks(const Vm& vm);

// One --disk value, e.g. "path=/r/cow.raw,direct=on,sparse=on,image_type=raw,
// num_queues=2,queue_size=512,queue_affinity=[0@[0],1@[1]],serial=cocoon-cow".
std::string DiskArg(const StorageConfig& disk, int vcpus);

// One --net value: tap, mac, num_queues (NetQueues(vcpus)), queue_size,
// offloads.
std::string NetArg(const NetworkConfig& nic, int vcpus);

// argv without the binary, in CH's documented order; the API and serial
// sockets are those of `paths` (never the record's). InvalidArgument for a
// record that cannot boot (cpu < 1, no kernel and no firmware),
// FailedPrecondition when the VM wants more vCPUs than the host has.
absl::StatusOr<std::vector<std::string>> BuildChArgs(const Vm& vm,
                                                     const vm::VmPaths& paths,
                                                     const HostFacts& host);

}  // namespace chtools::launch

#endif  // CHTOOLS_LIB_LAUNCH_CH_COMMAND_H_
