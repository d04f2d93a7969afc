// ch-console's seccomp policy: what a session may do once the console is
// open (lib/sandbox).
#ifndef CHTOOLS_TOOLS_CH_CONSOLE_POLICY_H_
#define CHTOOLS_TOOLS_CH_CONSOLE_POLICY_H_

#include "lib/sandbox/policy.h"

namespace ch_console {

// Copying bytes between stdin/stdout and the console fd, terminal settings,
// signals through a signalfd, clocks. No file may be opened, no socket made,
// no program started.
chtools::sandbox::PolicyBuilder BuildPolicy();

}  // namespace ch_console

#endif  // CHTOOLS_TOOLS_CH_CONSOLE_POLICY_H_
