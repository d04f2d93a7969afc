#include "tools/ch-console/console.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/chapi/client.h"
#include "lib/fs/unix_socket.h"
#include "lib/launch/ch_command.h"
#include "lib/process/ch_process.h"
#include "lib/record/printable.h"
#include "lib/vm/lifecycle.h"
#include "lib/vm/paths.h"
#include "tools/ch-console/escape.h"

namespace ch_console {
namespace {

using chtools::ErrnoError;
using chtools::UniqueFd;

absl::Status WriteAll(int fd, absl::string_view data, absl::string_view what) {
  while (!data.empty()) {
    ssize_t n = chtools::RetryEintr(
        [&] { return ::write(fd, data.data(), data.size()); });
    if (n < 0) return ErrnoError(errno, "write", what);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Restores the terminal settings it saved, whatever way the scope is left.
class RawMode {
 public:
  static absl::StatusOr<RawMode> Enter(int fd) {
    termios saved;
    if (::tcgetattr(fd, &saved) != 0)
      return ErrnoError(errno, "tcgetattr", "stdin");
    termios raw = saved;
    ::cfmakeraw(&raw);
    if (::tcsetattr(fd, TCSAFLUSH, &raw) != 0)
      return ErrnoError(errno, "tcsetattr", "stdin");
    return RawMode(fd, saved);
  }
  RawMode(RawMode&& o) noexcept : fd_(o.fd_), saved_(o.saved_) { o.fd_ = -1; }
  RawMode(const RawMode&) = delete;
  ~RawMode() {
    if (fd_ >= 0) ::tcsetattr(fd_, TCSAFLUSH, &saved_);
  }

 private:
  RawMode(int fd, termios saved) : fd_(fd), saved_(saved) {}
  int fd_;
  termios saved_;
};

// Blocks `signals` for the session and returns a signalfd for them; the old
// mask comes back when the object goes.
class SignalFd {
 public:
  explicit SignalFd(std::initializer_list<int> signals) {
    sigemptyset(&set_);
    for (int s : signals) sigaddset(&set_, s);
    ::sigprocmask(SIG_BLOCK, &set_, &old_);
    fd_.reset(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
  }
  ~SignalFd() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }
  int get() const { return fd_.get(); }
  // The next pending signal, 0 if none.
  int Read() {
    signalfd_siginfo info;
    if (::read(fd_.get(), &info, sizeof(info)) != sizeof(info)) return 0;
    return static_cast<int>(info.ssi_signo);
  }

 private:
  sigset_t set_, old_;
  UniqueFd fd_;
};

// SIGPIPE ignored for the session, so a write to a closed stdout or console
// fails with EPIPE (and the terminal gets restored) instead of killing us in
// raw mode; the old disposition comes back when the object goes.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() {
    struct sigaction ign;
    std::memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, &old_);
  }
  ~IgnoreSigpipe() { ::sigaction(SIGPIPE, &old_, nullptr); }

 private:
  struct sigaction old_;
};

void CopyWindowSize(int from_tty, int to_pty) {
  winsize ws;
  if (::ioctl(from_tty, TIOCGWINSZ, &ws) == 0) ::ioctl(to_pty, TIOCSWINSZ, &ws);
}

// Reads what the console has; 0 bytes = the console ended (EOF, or EIO of a
// PTY whose other side closed).
absl::StatusOr<std::string> ReadConsole(Console& c) {
  char buf[4096];
  ssize_t n =
      chtools::RetryEintr([&] { return ::read(c.fd.get(), buf, sizeof(buf)); });
  if (n < 0) {
    if (errno == EIO) return std::string();
    return ErrnoError(errno, "read", c.path);
  }
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

absl::StatusOr<Console> OpenConsole(const chtools::vm::Env& env,
                                    const chtools::Vm& vm) {
  ASSIGN_OR_RETURN(std::optional<chtools::process::ChProcess> ch,
                   chtools::vm::FindCh(env, vm));
  if (!ch)
    return absl::FailedPreconditionError(
        "not running (no live cloud-hypervisor)");
  const chtools::vm::VmPaths paths = chtools::vm::PathsFor(env.config, vm.id());
  Console c;
  const std::string lock = paths.run_dir + "/console.lock";
  c.session.reset(chtools::RetryEintr([&] {
    return ::open(lock.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                  0600);
  }));
  if (!c.session.valid()) return ErrnoError(errno, "open", lock);
  if (::flock(c.session.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          "another ch-console session is attached to this console (one at a "
          "time: two would "
          "split its output)");
    }
    return ErrnoError(errno, "flock", lock);
  }
  if (chtools::launch::IsDirectBoot(vm)) {
    std::unique_ptr<chtools::chapi::Client> api =
        env.api(paths.api_socket, absl::Seconds(5));
    ASSIGN_OR_RETURN(nlohmann::json info, api->Info());
    const nlohmann::json* file = nullptr;
    if (info.contains("config") && info["config"].contains("console") &&
        info["config"]["console"].contains("file") &&
        info["config"]["console"]["file"].is_string()) {
      file = &info["config"]["console"]["file"];
    }
    if (file == nullptr || file->get<std::string>().empty()) {
      // CH's answer is not trusted: value() aborts on a non-string mode.
      std::string mode = "?";
      if (info.contains("config") && info["config"].contains("console") &&
          info["config"]["console"].contains("mode") &&
          info["config"]["console"]["mode"].is_string()) {
        mode = chtools::record::PrintableCut(
            info["config"]["console"]["mode"].get<std::string>(), 64);
      }
      return absl::FailedPreconditionError(
          absl::StrCat("console PTY not available (mode=", mode, ")"));
    }
    c.path = file->get<std::string>();
    // The path is CH's word: only a PTY is opened (never a host file that
    // stdin would then be written into).
    if (!absl::StartsWith(c.path, "/dev/pts/") ||
        absl::StrContains(c.path, "/..")) {
      return absl::FailedPreconditionError(
          absl::StrCat("vm.info names console PTY \"",
                       chtools::record::PrintableCut(c.path, 200),
                       "\", which is not under /dev/pts"));
    }
    c.is_pty = true;
    c.fd.reset(chtools::RetryEintr(
        [&] { return ::open(c.path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC); }));
    if (!c.fd.valid()) return ErrnoError(errno, "open", c.path);
    if (::isatty(c.fd.get()) != 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("console PTY ", c.path, " is not a terminal"));
    }
    termios t;
    if (::tcgetattr(c.fd.get(), &t) == 0) {
      ::cfmakeraw(&t);
      ::tcsetattr(c.fd.get(), TCSANOW, &t);
    }
    return c;
  }
  c.path = paths.console_socket;
  ASSIGN_OR_RETURN(c.fd, chtools::fs::ConnectUnix(c.path));
  return c;
}

absl::StatusOr<int> RunTerminal(Console& console, int tty_in, int tty_out,
                                char escape, const std::string& ref) {
  SignalFd sigs({SIGWINCH, SIGTERM, SIGINT, SIGHUP});
  IgnoreSigpipe no_sigpipe;
  ASSIGN_OR_RETURN(RawMode raw, RawMode::Enter(tty_in));
  std::string hello =
      absl::StrCat("Connected to ", ref,
                   " (escape sequence: ", EscapeCharName(escape), ".)\r\n");
  (void)WriteAll(STDERR_FILENO, hello, "stderr");
  if (console.is_pty) CopyWindowSize(tty_in, console.fd.get());
  EscapeFilter filter(escape);
  absl::Status result;
  int signal_seen = 0;
  bool done = false;
  while (!done) {
    pollfd fds[3] = {{tty_in, POLLIN, 0},
                     {console.fd.get(), POLLIN, 0},
                     {sigs.get(), POLLIN, 0}};
    if (chtools::RetryEintr([&] { return ::poll(fds, 3, -1); }) < 0) {
      result = ErrnoError(errno, "poll");
      break;
    }
    if (fds[2].revents & POLLIN) {
      for (int s = sigs.Read(); s != 0; s = sigs.Read()) {
        if (s == SIGWINCH) {
          if (console.is_pty) CopyWindowSize(tty_in, console.fd.get());
        } else {
          signal_seen = s;
          done = true;
        }
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      absl::StatusOr<std::string> data = ReadConsole(console);
      if (!data.ok()) {
        result = data.status();
        break;
      }
      if (data->empty()) break;
      if (absl::Status s = WriteAll(tty_out, *data, "stdout"); !s.ok()) {
        result = s;
        break;
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[1024];
      ssize_t n =
          chtools::RetryEintr([&] { return ::read(tty_in, buf, sizeof(buf)); });
      if (n <= 0) break;
      absl::string_view in(buf, static_cast<size_t>(n));
      while (!in.empty()) {
        std::string send;
        size_t used = 0;
        EscapeFilter::Action a = filter.Feed(in, &send, &used);
        in.remove_prefix(used);
        if (absl::Status s = WriteAll(console.fd.get(), send, console.path);
            !s.ok()) {
          result = s;
          done = true;
          break;
        }
        if (a == EscapeFilter::Action::kDisconnect) {
          done = true;
          break;
        }
        if (a == EscapeFilter::Action::kHelp) {
          (void)WriteAll(tty_out, EscapeHelp(escape), "stdout");
        }
      }
    }
  }
  (void)WriteAll(STDERR_FILENO,
                 absl::StrCat("\r\nDisconnected from ", ref, ".\r\n"),
                 "stderr");
  if (!result.ok()) return result;
  return signal_seen;
}

absl::Status RunPipe(Console& console, int in, int out,
                     std::optional<absl::Duration> timeout,
                     absl::Duration idle) {
  const absl::Time deadline =
      timeout ? absl::Now() + *timeout : absl::InfiniteFuture();
  bool in_open = true;
  absl::Time quiet_until = absl::InfiniteFuture();  // set once stdin is at EOF
  while (true) {
    int wait_ms = -1;
    absl::Time wake = std::min(deadline, quiet_until);
    if (wake != absl::InfiniteFuture()) {
      absl::Duration left = wake - absl::Now();
      if (left <= absl::ZeroDuration()) return absl::OkStatus();
      wait_ms = static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
    }
    pollfd fds[2] = {{console.fd.get(), POLLIN, 0},
                     {in_open ? in : -1, POLLIN, 0}};
    int r = chtools::RetryEintr([&] { return ::poll(fds, 2, wait_ms); });
    if (r < 0) return ErrnoError(errno, "poll");
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ASSIGN_OR_RETURN(std::string data, ReadConsole(console));
      if (data.empty()) return absl::OkStatus();
      RETURN_IF_ERROR(WriteAll(out, data, "stdout"));
      if (!in_open) quiet_until = absl::Now() + idle;
    }
    if (in_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buf[4096];
      ssize_t n =
          chtools::RetryEintr([&] { return ::read(in, buf, sizeof(buf)); });
      if (n < 0) return ErrnoError(errno, "read", "stdin");
      if (n == 0) {
        // Keep reading the answers until the console goes quiet.
        in_open = false;
        quiet_until = absl::Now() + idle;
        continue;
      }
      RETURN_IF_ERROR(WriteAll(console.fd.get(),
                               absl::string_view(buf, static_cast<size_t>(n)),
                               console.path));
    }
  }
}

}  // namespace ch_console
