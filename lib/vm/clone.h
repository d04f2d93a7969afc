// Running VMs from snapshots (docs/cocoon-lessons.md §3.9-3.10, docs/ch-v51.md
// §4.5): a clone is a new VM restored from a snapshot of the store or from an
// archive; a restore puts an existing VM back to one of its snapshots.
//
// CH restores every device from config.json and the guest-visible NIC MACs
// from state.json, so a clone must swap its NICs: after vm.restore (the guest
// is paused) each snapshot NIC is removed and the clone's NICs are added with
// their new MACs. A removed NIC keeps its tap until the guest ejects it, which
// a paused guest cannot do (docs/ch-v51.md §7, gotcha 17), so the snapshot's
// NICs are restored onto *parking taps*: fresh names in the clone's network
// namespace that CH creates itself (TUNSETIFF makes a missing tap) and that
// vanish with CH's last fd when the guest has ejected the device. The
// clone's own taps are only ever opened once, by vm.add-net, whether they are
// single- or multi-queue.
#ifndef CHTOOLS_LIB_VM_CLONE_H_
#define CHTOOLS_LIB_VM_CLONE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/record/records.pb.h"
#include "lib/snapshot/store.h"
#include "lib/vm/env.h"

namespace chtools::vm {

// Where the snapshot comes from: the store, or an archive read from a file
// descriptor (checked and extracted into a private directory first, with
// lib/archive's reader, before anything else happens).
struct SnapshotSource {
  const snapshot::Store* store = nullptr;  // required
  std::string id;                          // a published snapshot, or
  int archive_fd = -1;                     // an archive to read
  std::string archive_name;                // "<stdin>" or the file, in errors
};

struct CloneOptions {
  std::string name;                 // "" = "<source name>-<id[:6]>"
  std::vector<NetworkConfig> nics;  // at least the snapshot's NIC count
  int cpu = 0;                      // 0 = the snapshot's; more = vm.resize
};

// Timings of one clone, for benchmarks.
struct CloneTimes {
  absl::Duration total;
  absl::Duration restore_call;  // vm.restore alone (CH's own work)
};

// Clones the snapshot into a new running VM and returns its record (RUNNING,
// first_booted, pid and api_socket set). The snapshot's record, config.json
// (rewritten and confined, lib/vm/ch_config.h), NICs, name and resources are
// checked before the first side effect. InvalidArgument / FailedPrecondition
// / AlreadyExists for what the caller can fix, naming it; Cancelled when
// interrupted. On any error CH is killed and the placeholder record, the
// run and log dirs are removed: nothing is left.
absl::StatusOr<Vm> CloneVm(const Env& env, const SnapshotSource& source,
                           const CloneOptions& options,
                           CloneTimes* times = nullptr);

// Restores VM `id` to the snapshot, which must be one of its own (in its
// snapshot_ids, or taken from it) with the same NICs and disks. Everything is
// staged and checked in <run_dir>/restore-staging first; only then is the VM
// stopped, its disk set aside and the snapshot's put in place. If anything
// fails after the stop, CH is killed, the previous disk is put back and the
// VM is left STOPPED; the error says so. Returns the RUNNING record.
absl::StatusOr<Vm> RestoreVm(const Env& env, absl::string_view id,
                             const SnapshotSource& source);

}  // namespace chtools::vm

#endif  // CHTOOLS_LIB_VM_CLONE_H_
