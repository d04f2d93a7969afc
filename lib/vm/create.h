// Create: a VM record from what an image tool and a network tool hand over,
// made real: placeholder record (CREATING) first, then the run and log dirs
// (made exclusively) and the disks, then CREATED; any failure, and SIGINT,
// SIGTERM or SIGHUP arriving meanwhile (lib/base/interrupt.h), rolls
// everything back.
#ifndef CHTOOLS_LIB_VM_CREATE_H_
#define CHTOOLS_LIB_VM_CREATE_H_

#include "absl/status/statusor.h"
#include "lib/record/records.pb.h"
#include "lib/vm/env.h"

namespace chtools::vm {

// Creates the VM described by `input`: config (name, cpu, memory, storage
// size, windows), storage (direct boot: the read-only layers with serials;
// cloud image: the base qcow2 as storage[0]), network, boot (kernel_path +
// initrd_path, or firmware_path). An empty id gets a new one. Returns the
// CREATED record. InvalidArgument for a bad record, FailedPrecondition for
// more vCPUs than the host has or a missing input file, AlreadyExists for a
// taken name or existing per-VM dirs, Cancelled when interrupted; nothing is
// left behind on any error.
absl::StatusOr<Vm> CreateVm(const Env& env, Vm input);

}  // namespace chtools::vm

#endif  // CHTOOLS_LIB_VM_CREATE_H_
