// ch-snapshot's seccomp policy for save, ls, get, rm and export: loaded once
// the index and the store are open, before refs or a record stream are read
// (lib/sandbox). import confines its archive parser separately
// (lib/archive/confined_reader.h).
#ifndef CHTOOLS_TOOLS_CH_SNAPSHOT_POLICY_H_
#define CHTOOLS_TOOLS_CH_SNAPSHOT_POLICY_H_

#include "lib/sandbox/policy.h"

namespace ch_snapshot {

// Files under the root (read, create, rename, remove, reflink or sparse
// copy), locks, CH's API socket (AF_UNIX only), pidfds to find a VM's CH,
// its own interrupt handlers, clocks. No network, exec, signals to others or
// executable memory.
chtools::sandbox::PolicyBuilder BuildPolicy();

}  // namespace ch_snapshot

#endif  // CHTOOLS_TOOLS_CH_SNAPSHOT_POLICY_H_
