#include "lib/process/ch_process.h"

#include <fcntl.h>
#include <poll.h>
#include "lib/process/pidfd.h"
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"

namespace chtools::process {
namespace {

absl::string_view Basename(absl::string_view path) {
  size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

// Reads a whole (small) file; the errno status names the path.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  UniqueFd fd(RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd.valid()) return ErrnoError(errno, "open", path);
  std::string out;
  char buf[4096];
  while (out.size() < (1 << 20)) {
    ssize_t n = RetryEintr([&] { return ::read(fd.get(), buf, sizeof(buf)); });
    if (n < 0) return ErrnoError(errno, "read", path);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool PidfdExited(int pidfd) {
  struct pollfd p = {pidfd, POLLIN, 0};
  int r = RetryEintr([&] { return ::poll(&p, 1, 0); });
  return r > 0;
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
      int64_t m = absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)));
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

bool IsChCmdline(absl::string_view cmdline, absl::string_view ch_binary,
                 absl::string_view api_socket) {
  if (!cmdline.empty() && cmdline.back() == '\0') cmdline.remove_suffix(1);
  if (cmdline.empty()) return false;
  std::vector<absl::string_view> args = absl::StrSplit(cmdline, '\0');
  if (Basename(args[0]) != Basename(ch_binary) || Basename(ch_binary).empty()) {
    return false;
  }
  std::string path_form = absl::StrCat("path=", api_socket);
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == api_socket || args[i] == path_form) return true;
  }
  return false;
}

absl::StatusOr<ChProcess> FindChProcess(absl::string_view run_dir,
                                        absl::string_view ch_binary) {
  while (run_dir.size() > 1 && run_dir.back() == '/') run_dir.remove_suffix(1);
  std::string pid_path = absl::StrCat(run_dir, "/ch.pid");
  std::string api_socket = absl::StrCat(run_dir, "/api.sock");
  auto not_found = [&](absl::string_view why) {
    return absl::NotFoundError(
        absl::StrCat("no cloud-hypervisor process for ", run_dir, ": ", why));
  };

  absl::StatusOr<std::string> text = ReadSmallFile(pid_path);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) return not_found("no pid file");
    return text.status();
  }
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid) || pid <= 0) {
    return not_found(absl::StrCat("pid file ", pid_path, " holds no pid"));
  }
  UniqueFd pidfd(PidfdOpen(pid));
  if (!pidfd.valid()) {
    if (errno == ESRCH) return not_found(absl::StrCat("pid ", pid, " is not running"));
    return ErrnoError(errno, "pidfd_open", absl::StrCat("pid ", pid));
  }
  // Read the cmdline only now: if the pidfd's process is still alive after
  // the read, the pid was never free in between, so the cmdline was its own.
  absl::StatusOr<std::string> cmdline =
      ReadSmallFile(absl::StrCat("/proc/", pid, "/cmdline"));
  if (PidfdExited(pidfd.get())) {
    return not_found(absl::StrCat("pid ", pid, " is not running"));
  }
  if (!cmdline.ok()) {
    if (absl::IsNotFound(cmdline.status())) {
      return not_found(absl::StrCat("pid ", pid, " is not running"));
    }
    return cmdline.status();
  }
  if (!IsChCmdline(*cmdline, ch_binary, api_socket)) {
    return not_found(absl::StrCat("pid ", pid, " is not ", Basename(ch_binary),
                                  " serving ", api_socket));
  }
  return ChProcess(pid, std::move(pidfd));
}

}  // namespace chtools::process
