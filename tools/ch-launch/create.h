// ch-launch create: a VM record from what an image tool and a network tool
// hand over, made real: placeholder record (CREATING) first, then the run and
// log dirs and the disks, then CREATED; any failure rolls everything back.
#ifndef CHTOOLS_TOOLS_CH_LAUNCH_CREATE_H_
#define CHTOOLS_TOOLS_CH_LAUNCH_CREATE_H_

#include "absl/status/statusor.h"
#include "lib/index/index.h"
#include "lib/launch/ch_command.h"
#include "lib/record/records.pb.h"

namespace ch_launch {

// What every ch-launch operation works with.
struct Env {
  chtools::ToolConfig config;
  chtools::launch::HostFacts host;
  chtools::index::Index* index = nullptr;
};

// Creates the VM described by `input`: config (name, cpu, memory, storage
// size, windows), storage (direct boot: the read-only layers with serials;
// cloud image: the base qcow2 as storage[0]), network, boot (kernel_path +
// initrd_path, or firmware_path). An empty id gets a new one. Returns the
// CREATED record. InvalidArgument for a bad record, FailedPrecondition for
// more vCPUs than the host has or a missing input file, AlreadyExists for a
// taken name; nothing is left behind on any error.
absl::StatusOr<chtools::Vm> CreateVm(const Env& env, chtools::Vm input);

}  // namespace ch_launch

#endif  // CHTOOLS_TOOLS_CH_LAUNCH_CREATE_H_
