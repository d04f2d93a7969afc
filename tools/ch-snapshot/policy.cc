#include "tools/ch-snapshot/policy.h"

#include "lib/sandbox/groups.h"

namespace ch_snapshot {

using ::chtools::sandbox::Group;

chtools::sandbox::PolicyBuilder BuildPolicy() {
  chtools::sandbox::PolicyBuilder policy;
  // Memory, exit, futexes: any C++ program.
  policy.Allow(Group::kBasicProcess);
  // Record streams in, records or archives out, copying and hashing files.
  policy.Allow(Group::kReadWrite);
  // isatty(): table output and progress lines on a terminal.
  policy.Allow(Group::kStdio);
  // Snapshot dirs and records, the VM's disks, /proc of a VM's CH, OpenSSL's
  // configuration on first use.
  policy.Allow(Group::kOpenReadOnly);
  // save: the private temp dir, the copied disk, the record; rm: removal.
  policy.Allow(Group::kOpenWrite);
  policy.Allow(Group::kDirectoryOps);
  // Disks are reflinked (FICLONE) or sparse-copied (copy_file_range).
  policy.Allow(Group::kCopyFiles);
  // The store lock and the per-VM operation locks.
  policy.Allow(Group::kLocks);
  // CH's REST API on the VM's api.sock (pause, snapshot, resume, info).
  policy.Allow(Group::kUnixConnect);
  // The VM's CH is found and held through a pidfd (lib/process).
  policy.Allow(Group::kProcessInspect);
  // SIGINT/SIGTERM/SIGHUP during a save resume the VM first
  // (lib/base/interrupt.cc).
  policy.Allow(Group::kSignals);
  // Timestamps, timeouts, progress rates.
  policy.Allow(Group::kTime);
  return policy;
}

}  // namespace ch_snapshot
