// The SIGWINCH helper child; see sigwinch.h.
#include "integration/sim/sigwinch.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace chtools::sim {

void StartSigwinchHelper() {
  static bool started = false;
  if (started) return;
  started = true;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return;  // parent (or fork failure: CH would go on too)
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);
  // Hold nothing of the VMM's: no sockets, PTYs or disk locks.
  syscall(SYS_close_range, 3u, ~0u, 0u);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  for (;;) pause();
}

}  // namespace chtools::sim
