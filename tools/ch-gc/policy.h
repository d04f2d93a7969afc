// ch-gc's seccomp policy: what it may do once the index and the snapshot
// store are open, before it reads records, run dirs and /proc (lib/sandbox).
#ifndef CHTOOLS_TOOLS_CH_GC_POLICY_H_
#define CHTOOLS_TOOLS_CH_GC_POLICY_H_

#include "lib/sandbox/policy.h"

namespace ch_gc {

// The whole-process policy of gc and pins. ch-gc never starts a program, so
// it confines itself: files (read, create lock files, rename, remove trees),
// locks, AF_UNIX sockets (a VM's API socket), pidfds, and SIGTERM/SIGKILL
// through a pidfd to the orphan CHs it has proven. No network socket, exec,
// kill(2) by pid, other signals, or executable memory.
chtools::sandbox::PolicyBuilder BuildPolicy();

// The --help paragraph.
extern const char kPolicyHelp[];

}  // namespace ch_gc

#endif  // CHTOOLS_TOOLS_CH_GC_POLICY_H_
