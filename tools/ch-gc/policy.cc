#include "tools/ch-gc/policy.h"

#include "lib/sandbox/groups.h"

namespace ch_gc {

using ::chtools::sandbox::Group;

const char kPolicyHelp[] =
    R"(Seccomp: once the index and the snapshot store are open, before records,
run dirs and /proc are read, ch-gc loads an allow-list (lib/sandbox;
x86_64): it may read files and list dirs, create lock files, rename and
remove files and trees, take locks, connect AF_UNIX sockets (a VM's API
socket), hold processes by pidfd and send SIGTERM/SIGKILL through a pidfd
(orphan CHs). Anything else (network sockets, exec, kill by pid, executable
memory) kills ch-gc with SIGSYS. --no-seccomp (or CHTOOLS_NO_SECCOMP=1, or
no_seccomp: true in the config file) turns it off for debugging.
)";

chtools::sandbox::PolicyBuilder BuildPolicy() {
  chtools::sandbox::PolicyBuilder policy;
  // Memory, exit, futexes: any C++ program.
  policy.Allow(Group::kBasicProcess);
  // stdout (findings, pins), stderr (skipped, errors), the record files.
  policy.Allow(Group::kReadWrite);
  // isatty() and the terminal width of the table format.
  policy.Allow(Group::kStdio);
  // VM and snapshot records, run/log/store dirs listed, /proc/<pid>/cmdline
  // and fd links of a process serving a VM's socket, mtimes for ages.
  policy.Allow(Group::kOpenReadOnly);
  // Operation lock files are created on first use (lib/vm/op_lock.cc); the
  // index writes a record back (a snapshot id forgotten, a restore
  // recovered) as temp file + rename.
  policy.Allow(Group::kOpenWrite);
  // What gc is for: removing run/log dirs, sockets, pid files, name links,
  // snapshot temp dirs and records; a restore's previous disk renamed back.
  policy.Allow(Group::kDirectoryOps);
  // Each VM judged under its operation lock, the store under its lock, the
  // index under its own.
  policy.Allow(Group::kLocks);
  // A VM's CH is the process serving its api.sock (SO_PEERCRED).
  policy.Allow(Group::kUnixConnect);
  // That process held by a pidfd, checked alive, waited for (poll).
  policy.Allow(Group::kProcessInspect);
  // orphan-ch and a stale placeholder's proven CH: SIGTERM, then SIGKILL,
  // through the pidfd (lib/vm/lifecycle.cc Terminate).
  policy.Allow(Group::kStopProcesses);
  // Ages against now, the SIGTERM grace period.
  policy.Allow(Group::kTime);
  return policy;
}

}  // namespace ch_gc
