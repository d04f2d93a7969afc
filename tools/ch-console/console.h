// Attaching to a VM's console: the serial socket of a firmware-booted VM or
// the PTY that vm.info reports for a direct-boot VM, then copying bytes
// between it and the user (terminal in raw mode) or a pipe.
#ifndef CHTOOLS_TOOLS_CH_CONSOLE_CONSOLE_H_
#define CHTOOLS_TOOLS_CH_CONSOLE_CONSOLE_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/base/unique_fd.h"
#include "lib/record/records.pb.h"
#include "lib/vm/env.h"

namespace ch_console {

struct Console {
  chtools::UniqueFd fd;
  bool is_pty = false;
  std::string path;  // the PTY device or console.sock
  // flock on <run_dir>/console.lock: one session per console (two readers
  // of one PTY would each get part of the output).
  chtools::UniqueFd session;
};

// Opens the console of `vm`, whose CH must be alive (FailedPrecondition
// "not running" otherwise; FailedPrecondition too while another ch-console
// session is attached): direct boot: config.console.file of vm.info, put
// in raw mode; firmware boot: a connection to <run_dir>/console.sock.
absl::StatusOr<Console> OpenConsole(const chtools::vm::Env& env,
                                    const chtools::Vm& vm);

// Interactive session on the terminal `tty_in`/`tty_out`: raw mode (restored
// on every way out, SIGTERM/SIGHUP/SIGINT included; SIGPIPE is ignored, so
// a closed stdout or console is an error, not a death in raw mode), escape
// handling, window size forwarded to a PTY console (at start and on SIGWINCH).
// Ends on escape + '.', console EOF/EIO or a signal; returns that signal's
// number (SIGTERM, SIGHUP, SIGINT) or 0.
absl::StatusOr<int> RunTerminal(Console& console, int tty_in, int tty_out,
                                char escape, const std::string& ref);

// Pipe mode: `in` goes to the console until its EOF, console output goes to
// `out` until the console ends, `timeout` (from the start) passes, or, once
// `in` is at EOF, the console has been quiet for `idle`.
absl::Status RunPipe(Console& console, int in, int out,
                     std::optional<absl::Duration> timeout,
                     absl::Duration idle);

}  // namespace ch_console

#endif  // CHTOOLS_TOOLS_CH_CONSOLE_CONSOLE_H_
