// ch-console: attach a terminal or a pipe to a running VM's console (the
// serial socket of a cloud-image VM, the virtio-console PTY of a direct-boot
// VM).
//
// stdin:  on a terminal: keystrokes (raw mode; escape char, default ^],
//         then '.' disconnects, '?' prints help). Otherwise: bytes sent to
//         the console until EOF.
// stdout: the console's output.
// Exit:   0 when the session ends (escape, console closed, --timeout);
//         128+N when signal N (TERM, HUP, INT) ended a terminal session;
//         1 if the VM is not running or the console cannot be opened;
//         2 usage error.
//
// Example:
//   echo hostname | ch-console web
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "lib/cli/tool.h"
#include "lib/config/config.h"
#include "lib/index/index.h"
#include "lib/vm/env.h"
#include "tools/ch-console/console.h"
#include "tools/ch-console/escape.h"
#include "tools/ch-console/policy.h"

ABSL_FLAG(std::string, escape_char, "^]",
          "Escape character on a terminal: ^X notation or one character.");
ABSL_FLAG(std::string, timeout, "",
          "Pipe mode: end the session after this long (e.g. 2s); default: when "
          "the console ends "
          "or goes quiet after stdin's EOF.");
ABSL_FLAG(std::string, idle, "1s",
          "Pipe mode: after stdin's EOF, end once the console has been quiet "
          "this long.");

namespace {

constexpr char kUsage[] = R"(ch-console: attach to a running VM's console.

Usage:
  ch-console [--escape-char=^]] REF            (interactive, on a terminal)
  COMMANDS | ch-console [--idle=1s] [--timeout=T] REF
      (pipe: stdin to the console, its output to stdout until the console has
      been quiet for --idle after stdin's EOF, or --timeout from the start)

REF is a VM id, name or unique id prefix. On a terminal, the escape character
followed by '.' disconnects and followed by '?' prints help. One session per
console at a time: a second ch-console on the same VM is refused.

Seccomp: once the console is open, ch-console loads an allow-list
(lib/sandbox; x86_64): read, write and poll the fds it has, terminal
settings, signals, clocks. Opening files, sockets, exec and executable memory
kill it with SIGSYS. --no-seccomp (or CHTOOLS_NO_SECCOMP=1) turns it off for
debugging.

Example:
  echo hostname | ch-console web
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args = chtools::InitTool(kUsage, argc, argv);
  if (args.size() != 1)
    return chtools::UsageError("expected exactly one VM ref");
  absl::StatusOr<char> escape =
      ch_console::ParseEscapeChar(absl::GetFlag(FLAGS_escape_char));
  if (!escape.ok()) return chtools::UsageError(escape.status().message());
  std::optional<absl::Duration> timeout;
  if (std::string t = absl::GetFlag(FLAGS_timeout); !t.empty()) {
    absl::Duration d;
    if (!absl::ParseDuration(t, &d) || d <= absl::ZeroDuration()) {
      return chtools::UsageError(
          absl::StrCat("--timeout=", t, ": not a positive duration (e.g. 2s)"));
    }
    timeout = d;
  }
  absl::Duration idle;
  if (std::string t = absl::GetFlag(FLAGS_idle);
      !absl::ParseDuration(t, &idle) || idle <= absl::ZeroDuration()) {
    return chtools::UsageError(
        absl::StrCat("--idle=", t, ": not a positive duration (e.g. 1s)"));
  }
  absl::StatusOr<chtools::ToolConfig> config =
      chtools::config::LoadToolConfig();
  if (!config.ok()) return chtools::ExitCode(config.status());
  absl::StatusOr<std::unique_ptr<chtools::index::Index>> index =
      chtools::index::Index::Open(config->root_dir());
  if (!index.ok()) return chtools::ExitCode(index.status());
  const std::string& ref = args[0];
  absl::StatusOr<std::string> id = (*index)->Resolve(ref);
  if (!id.ok()) return chtools::ExitCode(id.status());
  absl::StatusOr<chtools::Vm> vm = (*index)->Get(*id);
  if (!vm.ok()) return chtools::ExitCode(vm.status());
  chtools::vm::Env env;
  env.config = *config;
  env.index = index->get();
  const std::string prefix =
      absl::StrCat("vm \"", vm->config().name(), "\": console: ");
  absl::StatusOr<ch_console::Console> console =
      ch_console::OpenConsole(env, *vm);
  if (!console.ok()) {
    chtools::PrintError(absl::StrCat(prefix, console.status().message()));
    return chtools::kExitFailed;
  }
  // The console is open: from here on the guest's bytes flow through us.
  if (!config->no_seccomp()) {
    if (absl::Status p = ch_console::BuildPolicy().Apply(); !p.ok()) {
      chtools::PrintError(absl::StrCat(prefix, "seccomp: ", p.message()));
      return chtools::kExitFailed;
    }
  }
  absl::Status s;
  if (::isatty(STDIN_FILENO) == 1) {
    absl::StatusOr<int> sig = ch_console::RunTerminal(
        *console, STDIN_FILENO, STDOUT_FILENO, *escape, ref);
    // Ended by a signal: the terminal is restored; exit as 128 + signal.
    if (sig.ok() && *sig != 0) return 128 + *sig;
    s = sig.status();
  } else {
    s = ch_console::RunPipe(*console, STDIN_FILENO, STDOUT_FILENO, timeout,
                            idle);
  }
  if (!s.ok()) {
    chtools::PrintError(absl::StrCat(prefix, s.message()));
    return chtools::kExitFailed;
  }
  return chtools::kExitOk;
}
