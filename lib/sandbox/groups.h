// The named syscall groups a seccomp policy (policy.h) is built from, each
// syscall with the reason a chtools program needs it. x86_64 syscall numbers.
#ifndef CHTOOLS_LIB_SANDBOX_GROUPS_H_
#define CHTOOLS_LIB_SANDBOX_GROUPS_H_

#include <seccomp.h>
#include <sys/types.h>

#include <vector>

#include "absl/strings/string_view.h"

namespace chtools::sandbox {

enum class Group {
  // Staying alive: exit, signal return, memory (never executable: mmap and
  // mprotect with PROT_EXEC are refused), futexes, abort() on itself, close,
  // a few fcntl commands, randomness.
  kBasicProcess,
  // I/O on fds already open: read/write/seek/sync/stat/resize/punch holes.
  kReadWrite,
  // isatty() and terminal size on the fds it already has.
  kStdio,
  // Changing terminal settings (raw mode, restored at exit) and a PTY's
  // window size, on fds it already has.
  kTerminal,
  // openat read-only (no O_WRONLY/O_RDWR/O_CREAT/O_TRUNC/O_TMPFILE), stat and
  // readlink by path, listing directories.
  kOpenReadOnly,
  // openat with any flags (create, truncate, write): for programs that update
  // files under a root they were configured with.
  kOpenWrite,
  // Changing directories: mkdir, unlink, rename, link, chmod, timestamps.
  kDirectoryOps,
  // Copying files between fds it holds: reflink (FICLONE), copy_file_range,
  // filesystem facts (fstatfs).
  kCopyFiles,
  // flock and fcntl record locks.
  kLocks,
  // AF_UNIX sockets only: socket(AF_UNIX), connect, send/recv, peer creds,
  // poll.
  kUnixConnect,
  // Looking at other processes without touching them: pidfd_open, polling a
  // pidfd, signal 0 through a pidfd.
  kProcessInspect,
  // Stopping another process held by a pidfd: SIGTERM or SIGKILL through
  // pidfd_send_signal (never kill(2) by pid, never other signals).
  kStopProcesses,
  // Starting programs: clone, execve, wait. Filters survive execve, so a
  // program that runs CH, mkfs or qemu-img must not be sandboxed before it.
  kSpawn,
  // Handling signals: handlers, masks, waiting for one.
  kSignals,
  // Clocks and sleeping.
  kTime,
};

// One seccomp rule: allow syscall `nr` when all of `args` hold.
struct Rule {
  int nr;
  std::vector<scmp_arg_cmp> args;
  // Why a chtools program needs it (shown by --help texts and tests).
  absl::string_view why;
};

// The rules of `group`. `self` is the pid of the process the policy is
// applied to (signals to itself only). Pure.
std::vector<Rule> GroupRules(Group group, pid_t self);

// The rules for creating files in `dirfd` (PolicyBuilder::AllowCreateIn).
// Pure.
std::vector<Rule> CreateInRules(int dirfd);

// "kBasicProcess" -> "basic-process", for messages.
absl::string_view GroupName(Group group);

}  // namespace chtools::sandbox

#endif  // CHTOOLS_LIB_SANDBOX_GROUPS_H_
