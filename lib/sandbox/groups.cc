#include "lib/sandbox/groups.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <termios.h>

#include <vector>

namespace chtools::sandbox {
namespace {

// The bit of O_TMPFILE that is not O_DIRECTORY (glibc's O_TMPFILE and
// __O_TMPFILE both include O_DIRECTORY, which read-only opens of dirs use).
constexpr scmp_datum_t kTmpfileBit = 020000000;

// Flags that make an openat write, create or truncate something.
constexpr scmp_datum_t kWriteOpenFlags =
    O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | kTmpfileBit;
// Flags that must all be set for AllowCreateIn's openat.
constexpr scmp_datum_t kCreateFlags = O_CREAT | O_EXCL | O_NOFOLLOW;

// Syscall arguments that are C ints: compare the low 32 bits only (the
// upper half of the register is not defined for an int argument).
scmp_arg_cmp IntEq(unsigned arg, scmp_datum_t value) {
  return SCMP_CMP32(arg, SCMP_CMP_EQ, value);
}
scmp_arg_cmp BitsClear(unsigned arg, scmp_datum_t mask) {
  return SCMP_CMP32(arg, SCMP_CMP_MASKED_EQ, mask, 0);
}
scmp_arg_cmp BitsSet(unsigned arg, scmp_datum_t mask) {
  return SCMP_CMP32(arg, SCMP_CMP_MASKED_EQ, mask, mask);
}

std::vector<Rule> BasicProcess(pid_t self) {
  return {
      {SCMP_SYS(exit), {}, "a thread ends (glibc's exit path)"},
      {SCMP_SYS(exit_group), {}, "the process ends: exit() and return"},
      {SCMP_SYS(rt_sigreturn), {}, "return from a signal handler"},
      {SCMP_SYS(restart_syscall), {}, "kernel restart of a sleep a signal cut"},
      {SCMP_SYS(brk), {}, "malloc grows the heap"},
      {SCMP_SYS(mmap),
       {BitsClear(2, PROT_EXEC)},
       "malloc's large blocks and arenas; never executable memory"},
      {SCMP_SYS(mprotect),
       {BitsClear(2, PROT_EXEC)},
       "malloc arenas commit memory; never made executable"},
      {SCMP_SYS(munmap), {}, "free of mmapped blocks"},
      {SCMP_SYS(mremap), {}, "realloc of mmapped blocks"},
      {SCMP_SYS(madvise), {}, "malloc returns freed pages (MADV_DONTNEED)"},
      {SCMP_SYS(futex), {}, "mutexes and once-init (absl, protobuf, stdio)"},
      {SCMP_SYS(sched_yield), {}, "absl spin locks back off"},
      {SCMP_SYS(getpid), {}, "abort() and messages name the process"},
      {SCMP_SYS(gettid), {}, "abort() signals the calling thread"},
      {SCMP_SYS(tgkill),
       {IntEq(0, static_cast<scmp_datum_t>(self))},
       "abort() raises SIGABRT on itself (only its own pid)"},
      {SCMP_SYS(rt_sigprocmask), {}, "abort() and glibc block signals"},
      {SCMP_SYS(getrandom), {}, "random ids (lib/record/ids.cc), hash seeds"},
      {SCMP_SYS(close), {}, "UniqueFd releases fds"},
      {SCMP_SYS(fcntl),
       {IntEq(1, F_GETFD)},
       "read FD_CLOEXEC (lib/base/unique_fd.cc callers)"},
      {SCMP_SYS(fcntl), {IntEq(1, F_SETFD)}, "set FD_CLOEXEC"},
      {SCMP_SYS(fcntl), {IntEq(1, F_GETFL)}, "read O_NONBLOCK/access mode"},
      {SCMP_SYS(fcntl), {IntEq(1, F_SETFL)}, "toggle O_NONBLOCK"},
      {SCMP_SYS(fcntl),
       {IntEq(1, F_DUPFD_CLOEXEC)},
       "duplicate an fd it holds, close-on-exec"},
  };
}

std::vector<Rule> ReadWrite() {
  return {
      {SCMP_SYS(read), {}, "read fds it holds (stdin streams, files)"},
      {SCMP_SYS(write), {}, "write fds it holds (stdout, stderr, files)"},
      {SCMP_SYS(readv), {}, "stdio and libarchive scatter reads"},
      {SCMP_SYS(writev), {}, "stdio gathers writes"},
      {SCMP_SYS(pread64), {}, "read at an offset (sparse files, hashing)"},
      {SCMP_SYS(pwrite64), {}, "write at an offset (sparse files)"},
      {SCMP_SYS(lseek), {}, "seek, and SEEK_DATA/SEEK_HOLE over sparse files"},
      {SCMP_SYS(fstat), {}, "size and type of an fd"},
      {SCMP_SYS(newfstatat),
       {BitsSet(3, AT_EMPTY_PATH)},
       "glibc's fstat(): newfstatat(fd, \"\", AT_EMPTY_PATH)"},
      {SCMP_SYS(statx),
       {BitsSet(2, AT_EMPTY_PATH)},
       "statx of an fd it holds (AT_EMPTY_PATH)"},
      {SCMP_SYS(fsync), {}, "files are fsync'ed before they count"},
      {SCMP_SYS(fdatasync), {}, "data-only sync of written files"},
      {SCMP_SYS(ftruncate), {}, "set the length of a file it writes (holes)"},
      {SCMP_SYS(fallocate), {}, "punch holes into written files"},
      {SCMP_SYS(fadvise64),
       {},
       "read-ahead hints for long sequential reads (lib/fs/zero_holes.cc)"},
      {SCMP_SYS(dup), {}, "duplicate an fd it holds"},
      {SCMP_SYS(poll), {}, "wait for an fd it holds to be ready"},
      {SCMP_SYS(ppoll), {}, "wait for an fd it holds, with a timeout"},
  };
}

std::vector<Rule> Stdio() {
  return {
      {SCMP_SYS(ioctl), {IntEq(1, TCGETS)}, "isatty(): terminal or not"},
      {SCMP_SYS(ioctl), {IntEq(1, TIOCGWINSZ)}, "terminal width for tables"},
  };
}

std::vector<Rule> Terminal() {
  return {
      {SCMP_SYS(ioctl), {IntEq(1, TCGETS)}, "tcgetattr(): save the settings"},
      {SCMP_SYS(ioctl), {IntEq(1, TCSETS)}, "tcsetattr(TCSANOW)"},
      {SCMP_SYS(ioctl), {IntEq(1, TCSETSW)}, "tcsetattr(TCSADRAIN)"},
      {SCMP_SYS(ioctl),
       {IntEq(1, TCSETSF)},
       "tcsetattr(TCSAFLUSH): raw mode and its restore"},
      {SCMP_SYS(ioctl), {IntEq(1, TIOCGWINSZ)}, "the terminal's window size"},
      {SCMP_SYS(ioctl),
       {IntEq(1, TIOCSWINSZ)},
       "forward the window size to a console PTY"},
  };
}

std::vector<Rule> OpenReadOnly() {
  return {
      {SCMP_SYS(openat),
       {BitsClear(2, kWriteOpenFlags)},
       "open files and dirs for reading only"},
      {SCMP_SYS(newfstatat), {}, "stat a path (exists? which type?)"},
      {SCMP_SYS(statx), {}, "stat a path"},
      {SCMP_SYS(readlink), {}, "read a symlink (/proc/<pid>/fd/N)"},
      {SCMP_SYS(readlinkat), {}, "read a symlink relative to a dir fd"},
      {SCMP_SYS(faccessat), {}, "access(): may this path be read?"},
      {SCMP_SYS(faccessat2), {}, "access() on newer glibc"},
      {SCMP_SYS(getdents64), {}, "list a directory (readdir)"},
  };
}

std::vector<Rule> OpenWrite() {
  return {
      {SCMP_SYS(openat), {}, "open, create or truncate files (any flags)"},
  };
}

std::vector<Rule> DirectoryOps() {
  return {
      {SCMP_SYS(mkdirat), {}, "create dirs (mkdir is mkdirat in glibc)"},
      {SCMP_SYS(mkdir), {}, "create dirs by path"},
      {SCMP_SYS(unlinkat), {}, "remove files and dirs"},
      {SCMP_SYS(unlink), {}, "remove files by path"},
      {SCMP_SYS(rmdir), {}, "remove empty dirs by path"},
      {SCMP_SYS(renameat), {}, "publish a temp file by rename"},
      {SCMP_SYS(renameat2), {}, "rename (glibc's rename/renameat)"},
      {SCMP_SYS(rename), {}, "rename by path"},
      {SCMP_SYS(linkat), {}, "create a name atomically as a hard link"},
      {SCMP_SYS(link), {}, "hard link by path"},
      {SCMP_SYS(symlink), {}, "names as symlinks to ids (lib/index)"},
      {SCMP_SYS(symlinkat), {}, "names as symlinks, dir-fd relative"},
      {SCMP_SYS(fchmod), {}, "owner-only modes on created files"},
      {SCMP_SYS(fchmodat), {}, "owner-only modes by path"},
      {SCMP_SYS(utimensat), {}, "timestamps"},
      {SCMP_SYS(getdents64), {}, "list a directory before removing it"},
  };
}

std::vector<Rule> CopyFiles() {
  return {
      {SCMP_SYS(ioctl),
       {IntEq(1, FICLONE)},
       "reflink a disk while the VM is paused (lib/fs/reflink.cc)"},
      {SCMP_SYS(copy_file_range),
       {},
       "sparse copy of data extents (lib/fs/sparse_copy.cc)"},
      {SCMP_SYS(fstatfs), {}, "which filesystem a file is on"},
  };
}

std::vector<Rule> Locks() {
  return {
      {SCMP_SYS(flock), {}, "FileLock (lib/fs/flock.cc): per-VM locks"},
      {SCMP_SYS(fcntl), {IntEq(1, F_SETLK)}, "record locks"},
      {SCMP_SYS(fcntl), {IntEq(1, F_SETLKW)}, "record locks, waiting"},
      {SCMP_SYS(fcntl), {IntEq(1, F_GETLK)}, "who holds a record lock"},
      {SCMP_SYS(fcntl), {IntEq(1, F_OFD_SETLK)}, "open-file-description locks"},
      {SCMP_SYS(fcntl), {IntEq(1, F_OFD_SETLKW)}, "OFD locks, waiting"},
      {SCMP_SYS(fcntl), {IntEq(1, F_OFD_GETLK)}, "who holds an OFD lock"},
  };
}

std::vector<Rule> UnixConnect() {
  return {
      {SCMP_SYS(socket),
       {IntEq(0, AF_UNIX)},
       "AF_UNIX sockets only (CH's API socket): no network"},
      {SCMP_SYS(connect), {}, "connect the unix socket (a path)"},
      {SCMP_SYS(getsockopt), {}, "SO_PEERCRED: who serves the socket"},
      {SCMP_SYS(setsockopt), {}, "socket timeouts"},
      {SCMP_SYS(getsockname), {}, "the socket's own address"},
      {SCMP_SYS(getpeername), {}, "the socket's peer address"},
      {SCMP_SYS(sendto), {}, "send on a connected socket"},
      {SCMP_SYS(recvfrom), {}, "receive on a connected socket"},
      {SCMP_SYS(sendmsg), {}, "send with ancillary data"},
      {SCMP_SYS(recvmsg), {}, "receive with ancillary data"},
      {SCMP_SYS(shutdown), {}, "half-close after a request"},
      {SCMP_SYS(poll), {}, "wait for the socket with a timeout"},
      {SCMP_SYS(ppoll), {}, "wait for the socket with a timeout"},
  };
}

std::vector<Rule> ProcessInspect() {
  return {
      {SCMP_SYS(pidfd_open), {}, "hold a process so a reused pid is not it"},
      {SCMP_SYS(pidfd_send_signal),
       {IntEq(1, 0)},
       "signal 0 through a pidfd: is it alive? (never a real signal)"},
      {SCMP_SYS(poll), {}, "a pidfd is readable once its process exits"},
  };
}

std::vector<Rule> StopProcesses() {
  return {
      {SCMP_SYS(pidfd_send_signal),
       {IntEq(1, SIGTERM)},
       "ask a process held by a pidfd to exit (an orphan CH)"},
      {SCMP_SYS(pidfd_send_signal),
       {IntEq(1, SIGKILL)},
       "kill a process held by a pidfd that ignored SIGTERM"},
  };
}

std::vector<Rule> Spawn() {
  return {
      {SCMP_SYS(clone), {}, "fork / posix_spawn"},
      {SCMP_SYS(clone3), {}, "posix_spawn on glibc 2.34+"},
      {SCMP_SYS(vfork), {}, "posix_spawn's fallback"},
      {SCMP_SYS(execve), {}, "run a program (it inherits this filter)"},
      {SCMP_SYS(wait4), {}, "reap a child"},
      {SCMP_SYS(waitid), {}, "reap a child through its pidfd"},
      {SCMP_SYS(pipe2), {}, "pipes to and from a child"},
      {SCMP_SYS(dup2), {}, "map fds in the child"},
      {SCMP_SYS(dup3), {}, "map fds in the child"},
      {SCMP_SYS(setsid), {}, "detach a child from the terminal"},
      {SCMP_SYS(pidfd_open), {}, "hold a child by pidfd"},
      {SCMP_SYS(pidfd_send_signal), {}, "signal a child by pidfd"},
  };
}

std::vector<Rule> Signals(pid_t self) {
  return {
      {SCMP_SYS(rt_sigaction), {}, "install interrupt handlers"},
      {SCMP_SYS(rt_sigprocmask), {}, "block signals around critical work"},
      {SCMP_SYS(rt_sigtimedwait), {}, "wait for a signal"},
      {SCMP_SYS(signalfd4), {}, "signals as an fd to poll with the others"},
      {SCMP_SYS(sigaltstack), {}, "signal handler stacks"},
      {SCMP_SYS(kill),
       {IntEq(0, static_cast<scmp_datum_t>(self))},
       "re-raise a signal on itself after cleanup (own pid only)"},
      {SCMP_SYS(tgkill),
       {IntEq(0, static_cast<scmp_datum_t>(self))},
       "raise() on itself (own pid only)"},
  };
}

std::vector<Rule> Time() {
  return {
      {SCMP_SYS(clock_gettime), {}, "timestamps, timeouts (absl::Now)"},
      {SCMP_SYS(clock_getres), {}, "clock resolution"},
      {SCMP_SYS(gettimeofday), {}, "wall time (old interfaces)"},
      {SCMP_SYS(time), {}, "wall time (old interfaces)"},
      {SCMP_SYS(clock_nanosleep), {}, "sleep between lock retries"},
      {SCMP_SYS(nanosleep), {}, "sleep between lock retries"},
  };
}

}  // namespace

std::vector<Rule> GroupRules(Group group, pid_t self) {
  switch (group) {
    case Group::kBasicProcess:
      return BasicProcess(self);
    case Group::kReadWrite:
      return ReadWrite();
    case Group::kStdio:
      return Stdio();
    case Group::kTerminal:
      return Terminal();
    case Group::kOpenReadOnly:
      return OpenReadOnly();
    case Group::kOpenWrite:
      return OpenWrite();
    case Group::kDirectoryOps:
      return DirectoryOps();
    case Group::kCopyFiles:
      return CopyFiles();
    case Group::kLocks:
      return Locks();
    case Group::kUnixConnect:
      return UnixConnect();
    case Group::kProcessInspect:
      return ProcessInspect();
    case Group::kStopProcesses:
      return StopProcesses();
    case Group::kSpawn:
      return Spawn();
    case Group::kSignals:
      return Signals(self);
    case Group::kTime:
      return Time();
  }
  return {};
}

std::vector<Rule> CreateInRules(int dirfd) {
  const auto fd = static_cast<scmp_datum_t>(dirfd);
  return {
      {SCMP_SYS(openat),
       {IntEq(0, fd), BitsSet(2, kCreateFlags)},
       "create a new file in the given dir: O_CREAT|O_EXCL|O_NOFOLLOW"},
      {SCMP_SYS(unlinkat),
       {IntEq(0, fd), IntEq(2, 0)},
       "remove a file it created there (roll back on error)"},
  };
}

absl::string_view GroupName(Group group) {
  switch (group) {
    case Group::kBasicProcess:
      return "basic-process";
    case Group::kReadWrite:
      return "read-write";
    case Group::kStdio:
      return "stdio";
    case Group::kTerminal:
      return "terminal";
    case Group::kOpenReadOnly:
      return "open-read-only";
    case Group::kOpenWrite:
      return "open-write";
    case Group::kDirectoryOps:
      return "directory-ops";
    case Group::kCopyFiles:
      return "copy-files";
    case Group::kLocks:
      return "locks";
    case Group::kUnixConnect:
      return "unix-connect";
    case Group::kProcessInspect:
      return "process-inspect";
    case Group::kStopProcesses:
      return "stop-processes";
    case Group::kSpawn:
      return "spawn";
    case Group::kSignals:
      return "signals";
    case Group::kTime:
      return "time";
  }
  return "unknown";
}

}  // namespace chtools::sandbox
