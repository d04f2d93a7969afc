#include "tools/vm-index/policy.h"

#include "lib/sandbox/groups.h"

namespace vm_index {

using ::chtools::sandbox::Group;

const char kPolicyHelp[] =
    R"(Seccomp: after the index is open, before stdin is read, vm-index loads
an allow-list (lib/sandbox; x86_64): ls and get may read files, list dirs,
take locks, connect AF_UNIX sockets (a VM's API socket) and look at
processes through pidfds; put, rm and fsck may also create, rename, link
and remove files. Anything else (network sockets, exec, signals to others,
executable memory) kills vm-index with SIGSYS. --no-seccomp (or
CHTOOLS_NO_SECCOMP=1, or no_seccomp: true in the config file) turns it off
for debugging.
)";

chtools::sandbox::PolicyBuilder BuildPolicy(absl::string_view verb) {
  chtools::sandbox::PolicyBuilder policy;
  // Memory, exit, futexes: any C++ program.
  policy.Allow(Group::kBasicProcess);
  // stdin (the record stream), stdout (records), stderr, the record files.
  policy.Allow(Group::kReadWrite);
  // isatty() of stdin/stdout picks the input mode and the table format.
  policy.Allow(Group::kStdio);
  // Record files, name links, /proc/<pid>/cmdline and fd links of a VM's CH.
  policy.Allow(Group::kOpenReadOnly);
  // Per-VM locks (lib/fs/flock.cc): the index and the operation lock.
  policy.Allow(Group::kLocks);
  // "running" is the process that serves the VM's api.sock (SO_PEERCRED).
  policy.Allow(Group::kUnixConnect);
  // That process is held by a pidfd and checked alive (lib/process).
  policy.Allow(Group::kProcessInspect);
  // Timestamps (created_at/updated_at), fsck's age of CREATING records, lock
  // retry sleeps.
  policy.Allow(Group::kTime);
  if (verb != "ls" && verb != "get") {
    // put: temp file + rename per record, names as links; rm: the record,
    // its names and lock; fsck --repair: stale names, dirs and records.
    policy.Allow(Group::kOpenWrite);
    policy.Allow(Group::kDirectoryOps);
  }
  return policy;
}

}  // namespace vm_index
