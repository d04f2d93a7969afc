#include "tools/ch-console/policy.h"

#include "lib/sandbox/groups.h"

namespace ch_console {

using ::chtools::sandbox::Group;

chtools::sandbox::PolicyBuilder BuildPolicy() {
  chtools::sandbox::PolicyBuilder policy;
  // Memory, exit, futexes: any C++ program.
  policy.Allow(Group::kBasicProcess);
  // stdin -> console, console -> stdout, messages on stderr; poll on all.
  policy.Allow(Group::kReadWrite);
  // Raw mode on the terminal (restored on every exit), the PTY console in
  // raw mode, window size from the terminal to the PTY.
  policy.Allow(Group::kTerminal);
  // SIGWINCH/SIGTERM/SIGINT/SIGHUP through a signalfd; SIGPIPE ignored for
  // the session and restored after.
  policy.Allow(Group::kSignals);
  // --timeout and --idle.
  policy.Allow(Group::kTime);
  return policy;
}

}  // namespace ch_console
