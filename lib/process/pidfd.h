// Thin pidfd syscall wrappers. Debian 12's glibc 2.36 <sys/pidfd.h> lacks
// extern "C", so its functions cannot be linked from C++; call the kernel.
#ifndef CHTOOLS_LIB_PROCESS_PIDFD_H_
#define CHTOOLS_LIB_PROCESS_PIDFD_H_

#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

namespace chtools::process {

// pidfd_open(2): an O_CLOEXEC fd for process `pid`, or -1 with errno.
inline int PidfdOpen(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

// pidfd_send_signal(2) without siginfo; 0 or -1 with errno.
inline int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(
      ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

}  // namespace chtools::process

#endif  // CHTOOLS_LIB_PROCESS_PIDFD_H_
