// cloud-hypervisor (simulator): a stand-in for Cloud Hypervisor v51.0 for
// tests and the demo. Same command line, REST API on --api-socket, VM state
// machine, snapshot files and exit codes as CH; no KVM, a tiny fake guest.
//
// stdin/stdout: the guest console when --console tty (CH's default).
// Exit: 0 clean exit (vmm.shutdown, SIGTERM/SIGINT, guest power-off);
//       1 start-up/config/create/boot/restore failure (socket file left);
//       2 usage error.
//
// Example:
//   cloud-hypervisor --api-socket /run/vm/api.sock --kernel vmlinux
//     --cmdline "console=hvc0 cocoon.hostname=web" --console pty --serial off
#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "integration/sim/cli.h"
#include "integration/sim/devices.h"
#include "integration/sim/http.h"
#include "integration/sim/loop.h"
#include "integration/sim/vm_config.h"
#include "integration/sim/vmm.h"
#include "lib/base/unique_fd.h"

namespace chtools::sim {
namespace {

absl::Time g_start = absl::Now();
int g_log_fd = STDERR_FILENO;
int g_verbosity = 0;

// CH's log line: "cloud-hypervisor: <secs>s: <thread> LEVEL:file:line --
// msg\r\n".
void Log(int level, const char* tag, absl::string_view msg) {
  // level: 0 error, 1 warn, 2 info, 3 debug.
  if (level > 1 + g_verbosity) return;
  std::string line =
      absl::StrFormat("cloud-hypervisor: %11.6fs: <vmm> %s:%s -- %s\r\n",
                      absl::ToDoubleSeconds(absl::Now() - g_start), tag,
                      "cloud-hypervisor/src/main.rs:1", msg);
  (void)!write(g_log_fd, line.data(), line.size());
}

// Prints CH's error chain and exits 1 at once: like CH, nothing is cleaned
// up (the API socket and a serial socket stay behind).
[[noreturn]] void Fail(const absl::Status& status) {
  std::vector<std::string> chain = absl::StrSplit(status.message(), '\n');
  Log(0, "ERROR", absl::StrCat("Fatal error: ", absl::StrJoin(chain, ": ")));
  std::string out;
  if (chain.size() == 1) {
    out = absl::StrCat(
        "Error: Cloud Hypervisor exited with the following error:\n  ",
        chain[0], "\n");
  } else {
    out =
        "Error: Cloud Hypervisor exited with the following chain of errors:\n";
    for (size_t i = 0; i < chain.size(); ++i) {
      absl::StrAppend(&out, "  ", i, ": ", chain[i], "\n");
    }
  }
  (void)!write(STDERR_FILENO, out.data(), out.size());
  _exit(1);
}

absl::Status Head(absl::string_view head, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(head, "\n", s.message()));
}

absl::StatusOr<UniqueFd> BindApiSocket(const std::string& path) {
  const char* head =
      "Failed to start the VMM thread\nError creation API server's socket";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat(head, "\npath must be shorter than SUN_LEN"));
  }
  memcpy(addr.sun_path, path.data(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return absl::InternalError(absl::StrCat(head, "\n", OsErrorText(errno)));
  UniqueFd s(fd);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0 ||
      listen(fd, 64) < 0) {
    return absl::InternalError(absl::StrCat(head, "\n", OsErrorText(errno)));
  }
  return s;
}

// CHSIM_BOOT_DELAY_MS: the wait before the command-line VM is created and
// again before it is booted. The default is not zero: CH too answers
// requests before its command-line VM exists.
absl::Duration BootDelay() {
  constexpr int64_t kDefaultMs = 2;
  const char* v = getenv("CHSIM_BOOT_DELAY_MS");
  int64_t ms;
  if (v == nullptr || !absl::SimpleAtoi(v, &ms) || ms < 0) ms = kDefaultMs;
  return absl::Milliseconds(ms);
}

int Main(int argc, char** argv) {
  umask(077);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::string help = HelpText();
    (void)!write(STDERR_FILENO, help.data(), help.size());
    return 2;
  }
  absl::StatusOr<CliArgs> cli = ParseCommandLine(args);
  if (!cli.ok()) {
    (void)!write(STDERR_FILENO, cli.status().message().data(),
                 cli.status().message().size());
    return 2;
  }
  if (cli->help) {
    std::string help = HelpText();
    (void)!write(STDOUT_FILENO, help.data(), help.size());
    return 0;
  }
  if (cli->version) {
    printf("cloud-hypervisor v51.0\n");
    if (cli->verbosity > 0)
      printf("Enabled features: [\"io_uring\", \"kvm\"]\n");
    return 0;
  }
  g_verbosity = cli->verbosity;
  auto one = [&](const char* k) -> std::optional<std::string> {
    auto it = cli->values.find(k);
    if (it == cli->values.end() || it->second.empty()) return std::nullopt;
    return it->second[0];
  };
  if (auto lf = one("log-file")) {
    int fd = open(lf->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
      Fail(absl::InternalError(
          absl::StrCat("Error creating log file\n", OsErrorText(errno))));
    }
    g_log_fd = fd;
  }
  std::optional<ApiSocketSpec> api;
  if (auto a = one("api-socket")) {
    absl::StatusOr<ApiSocketSpec> spec = ParseApiSocket(*a);
    if (!spec.ok()) Fail(spec.status());
    api = *spec;
  }
  // SIGTERM/SIGINT go to the loop (CH's signal thread); SIGPIPE is ignored.
  signal(SIGPIPE, SIG_IGN);
  // As CH: children (the SIGWINCH helper, mtype) are never left as zombies.
  signal(SIGCHLD, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  UniqueFd sigfd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));

  Loop loop;
  Knobs knobs = Knobs::FromEnv();
  Vmm vmm(&loop, knobs);
  std::unique_ptr<HttpServer> server;
  if (api) {
    const char* delay = getenv("CHSIM_BIND_DELAY_MS");
    int64_t ms;
    if (delay && absl::SimpleAtoi(delay, &ms) && ms > 0) {
      absl::SleepFor(absl::Milliseconds(ms));
    }
    UniqueFd listener;
    if (api->fd >= 0) {
      listener.reset(api->fd);
    } else {
      absl::StatusOr<UniqueFd> l = BindApiSocket(api->path);
      if (!l.ok()) Fail(l.status());
      listener = *std::move(l);
    }
    server = std::make_unique<HttpServer>(
        &loop, std::move(listener),
        [&vmm](const HttpRequest& r) { return vmm.Handle(r); });
  }
  // CHSIM_IGNORE_SIGTERM=1: a VMM that hangs on shutdown, so that launchers'
  // SIGKILL escalation can be tested (real CH handles SIGTERM).
  const char* ignore_term = getenv("CHSIM_IGNORE_SIGTERM");
  const bool ignore_sigterm =
      ignore_term != nullptr && absl::string_view(ignore_term) == "1";
  loop.Watch(sigfd.get(), POLLIN, [&](short) {
    signalfd_siginfo info;
    if (read(sigfd.get(), &info, sizeof(info)) != sizeof(info)) return;
    if (ignore_sigterm && info.ssi_signo == SIGTERM) return;
    vmm.Exit(0);
  });

  if (one("kernel") || one("firmware")) {
    // CH's main thread parses the VM options and sends VmCreate, then VmBoot,
    // to the VMM thread only after the HTTP thread is already serving, so an
    // early request sees "VM is not created", then state Created, then
    // Running. Timers on the one loop keep that window open while requests
    // are answered.
    // `step` by value: the timer fires from loop.Run(), after this block.
    const absl::Duration step = BootDelay();
    loop.After(step, [&, step] {
      absl::StatusOr<Json> config = VmConfigFromCli(cli->values);
      if (!config.ok()) Fail(Head("Error parsing config", config.status()));
      if (absl::Status s = vmm.Create(*config); !s.ok()) {
        Fail(Head("Failed to create VM", s));
      }
      loop.After(step, [&] {
        if (absl::Status s = vmm.Boot(); !s.ok())
          Fail(Head("Failed to boot VM", s));
      });
    });
  } else if (auto r = one("restore")) {
    absl::StatusOr<Json> rc = RestoreConfigFromCli(*r);
    if (!rc.ok()) Fail(Head("Error parsing config", rc.status()));
    if (absl::Status s = vmm.Restore(*rc); !s.ok()) {
      Fail(Head("Failed to restore VM", s));
    }
  }
  int code = loop.Run();
  server.reset();
  if (code == 0 && api && api->fd < 0) unlink(api->path.c_str());
  if (code == 0) Log(2, "INFO", "Cloud Hypervisor exited successfully");
  return code;
}

}  // namespace
}  // namespace chtools::sim

int main(int argc, char** argv) { return chtools::sim::Main(argc, argv); }
