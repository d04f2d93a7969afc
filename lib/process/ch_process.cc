#include "lib/process/ch_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/fs/io.h"
#include "lib/fs/unix_socket.h"
#include "lib/process/pidfd.h"

namespace chtools::process {
namespace {

bool PidfdExited(int pidfd) {
  struct pollfd p = {pidfd, POLLIN, 0};
  int r = RetryEintr([&] { return ::poll(&p, 1, 0); });
  return r > 0;
}

// True if process `pid` has one of `files` open (its /proc/<pid>/fd links).
bool HoldsAny(pid_t pid, const std::vector<std::string>& files) {
  if (files.empty()) return false;
  std::string dir = absl::StrCat("/proc/", pid, "/fd");
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return false;
  bool found = false;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[4096];
    ssize_t n = ::readlinkat(::dirfd(d), e->d_name, target, sizeof(target) - 1);
    if (n <= 0) continue;
    absl::string_view t(target, static_cast<size_t>(n));
    for (const std::string& f : files) {
      if (t == f) found = true;
    }
    if (found) break;
  }
  ::closedir(d);
  return found;
}

}  // namespace

absl::Status ChProcess::Signal(int sig) {
  if (PidfdSendSignal(pidfd_.get(), sig) != 0) {
    return ErrnoError(errno, "pidfd_send_signal", absl::StrCat("pid ", pid_));
  }
  return absl::OkStatus();
}

bool ChProcess::Alive() const { return !PidfdExited(pidfd_.get()); }

absl::StatusOr<bool> ChProcess::WaitExit(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::Duration left = deadline - absl::Now();
    int ms = 0;
    if (left > absl::ZeroDuration()) {
      int64_t m =
          absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)));
      ms = static_cast<int>(m > INT_MAX ? INT_MAX : m);
    }
    struct pollfd p = {pidfd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "poll", absl::StrCat("pidfd of pid ", pid_));
    }
    if (r > 0) return true;
    if (absl::Now() >= deadline) return false;
  }
}

bool CmdlineNamesSocket(absl::string_view cmdline,
                        absl::string_view api_socket) {
  if (!cmdline.empty() && cmdline.back() == '\0') cmdline.remove_suffix(1);
  if (cmdline.empty() || api_socket.empty()) return false;
  std::vector<absl::string_view> args = absl::StrSplit(cmdline, '\0');
  const std::string path_form = absl::StrCat("path=", api_socket);
  const std::string flag_form = absl::StrCat("--api-socket=", api_socket);
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == api_socket || args[i] == path_form || args[i] == flag_form) {
      return true;
    }
  }
  return false;
}

namespace {

// The live process `pid` if its argv names `api_socket`. NotFound when it is
// gone; `*unproven` is set when it lives but does not name the socket.
absl::StatusOr<ChProcess> Claim(pid_t pid, absl::string_view api_socket,
                                bool* unproven, std::string* argv0) {
  UniqueFd pidfd(PidfdOpen(pid));
  if (!pidfd.valid()) {
    if (errno == ESRCH)
      return absl::NotFoundError(absl::StrCat("pid ", pid, " is not running"));
    return ErrnoError(errno, "pidfd_open", absl::StrCat("pid ", pid));
  }
  // Read the cmdline only now: if the pidfd's process is still alive after
  // the read, the pid was never free in between, so the cmdline was its own.
  absl::StatusOr<std::string> cmdline =
      fs::ReadFileToString(absl::StrCat("/proc/", pid, "/cmdline"), 1 << 20);
  if (PidfdExited(pidfd.get()) ||
      (!cmdline.ok() && absl::IsNotFound(cmdline.status()))) {
    return absl::NotFoundError(absl::StrCat("pid ", pid, " is not running"));
  }
  if (!cmdline.ok()) return cmdline.status();
  if (!CmdlineNamesSocket(*cmdline, api_socket)) {
    *unproven = true;
    *argv0 = cmdline->substr(0, cmdline->find('\0'));
    return absl::NotFoundError(absl::StrCat("pid ", pid, " (", *argv0,
                                            ") does not name ", api_socket));
  }
  return ChProcess(pid, std::move(pidfd));
}

}  // namespace

absl::StatusOr<ChProcess> FindChProcess(
    absl::string_view api_socket, absl::string_view pid_file,
    const std::vector<std::string>& own_files) {
  auto not_found = [&](absl::string_view why) {
    return absl::NotFoundError(absl::StrCat(
        "no cloud-hypervisor process serves ", api_socket, ": ", why));
  };
  absl::StatusOr<UniqueFd> conn = fs::ConnectUnix(api_socket);
  if (conn.ok()) {
    ASSIGN_OR_RETURN(pid_t pid, fs::PeerPid(conn->get()));
    bool unproven = false;
    std::string argv0;
    absl::StatusOr<ChProcess> p = Claim(pid, api_socket, &unproven, &argv0);
    if (p.ok() || !absl::IsNotFound(p.status())) return p;
    if (unproven) {
      return absl::FailedPreconditionError(absl::StrCat(
          "pid ", pid, " (", argv0, ") serves ", api_socket,
          " but its command line does not name that socket: cannot prove it is "
          "this "
          "VM's cloud-hypervisor; refusing to act (stop it by hand)"));
    }
    // The listener exited just now: fall through to the pid file.
  } else if (!absl::IsNotFound(conn.status()) &&
             !absl::IsUnavailable(conn.status()) &&
             !absl::IsInvalidArgument(conn.status())) {
    // InvalidArgument: a path too long for sun_path, which no CH can bind.
    return conn.status();
  }

  std::string pid_path(pid_file);
  absl::StatusOr<std::string> text = fs::ReadFileToString(pid_path, 4096);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status()))
      return not_found("nothing listens, no pid file");
    return text.status();
  }
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid) || pid <= 0) {
    return not_found(absl::StrCat("pid file ", pid_path, " holds no pid"));
  }
  bool unproven = false;
  std::string argv0;
  absl::StatusOr<ChProcess> p = Claim(pid, api_socket, &unproven, &argv0);
  if (!p.ok()) {
    if (absl::IsNotFound(p.status())) return not_found(p.status().message());
    return p.status();
  }
  // Naming the socket is not enough without the listener: a process that
  // merely carries the path in its argv is not signalled.
  if (!HoldsAny(pid, own_files)) {
    return not_found(absl::StrCat("pid ", pid, " does not serve ", api_socket,
                                  " and holds none of the VM's disks"));
  }
  if (!p->Alive())
    return not_found(absl::StrCat("pid ", pid, " is not running"));
  return p;
}

}  // namespace chtools::process
