#include "lib/sandbox/confined_call.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"
#include "lib/base/unique_fd.h"

namespace chtools::sandbox {
namespace {

// The child's report on the pipe: "O" + the bytes, or "E" + the decimal
// status code + "\n" + the message.
std::string Encode(const absl::StatusOr<std::string>& result) {
  if (result.ok()) return absl::StrCat("O", *result);
  return absl::StrCat("E", static_cast<int>(result.status().code()), "\n",
                      result.status().message());
}

absl::StatusOr<std::string> Decode(std::string report, absl::string_view what) {
  if (!report.empty() && report[0] == 'O') {
    report.erase(0, 1);
    return report;
  }
  if (!report.empty() && report[0] == 'E') {
    absl::string_view r(report);
    size_t nl = r.find('\n');
    int code = 0;
    if (nl != absl::string_view::npos &&
        absl::SimpleAtoi(r.substr(1, nl - 1), &code) && code > 0 &&
        code <= static_cast<int>(absl::StatusCode::kUnauthenticated)) {
      return absl::Status(static_cast<absl::StatusCode>(code),
                          r.substr(nl + 1));
    }
  }
  return absl::InternalError(absl::StrCat(what, ": sent a bad report"));
}

// Closes every fd from 3 up except those in `keep`.
void CloseAllFdsExcept(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned first = 3;
  for (int fd : keep) {
    if (fd < 3 || static_cast<unsigned>(fd) < first) continue;
    if (static_cast<unsigned>(fd) > first) {
      ::close_range(first, static_cast<unsigned>(fd) - 1, 0);
    }
    first = static_cast<unsigned>(fd) + 1;
  }
  ::close_range(first, ~0U, 0);
}

// Writes all of `data` to `fd`.
bool WriteFully(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

[[noreturn]] void InChild(const PolicyBuilder& policy,
                          std::vector<int> keep_fds, int report_fd,
                          absl::FunctionRef<absl::StatusOr<std::string>()> fn) {
  // With stdout closed in the parent, the pipe may be fd 1: move it clear of
  // the /dev/null below.
  if (report_fd <= STDERR_FILENO) {
    report_fd = ::fcntl(report_fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    if (report_fd < 0) ::_exit(1);
  }
  // stdout to /dev/null, unless it is an fd `fn` needs (a file opened while
  // stdout was closed).
  if (std::find(keep_fds.begin(), keep_fds.end(), STDOUT_FILENO) ==
      keep_fds.end()) {
    int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null < 0 || ::dup2(null, STDOUT_FILENO) < 0) ::_exit(1);
    ::close(null);
  }
  keep_fds.push_back(report_fd);
  CloseAllFdsExcept(std::move(keep_fds));
  // ^C ends the child (the parent reports it); the parent's handlers
  // (lib/base/interrupt.h) would only set a flag nobody reads here.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, SIG_DFL);
  absl::Status confined = policy.Apply();
  absl::StatusOr<std::string> result =
      confined.ok() ? fn() : absl::StatusOr<std::string>(confined);
  ::_exit(WriteFully(report_fd, Encode(result)) ? 0 : 1);
}

}  // namespace

absl::StatusOr<std::string> RunConfined(
    absl::string_view what, const PolicyBuilder& policy,
    const std::vector<int>& keep_fds, size_t max_result_bytes,
    absl::FunctionRef<absl::StatusOr<std::string>()> fn) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe2");
  UniqueFd report_read(p[0]);
  UniqueFd report_write(p[1]);
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError(errno, "fork");
  if (pid == 0) {
    report_read.reset();
    InChild(policy, keep_fds, report_write.get(), fn);
  }
  report_write.reset();
  // One byte for the report's tag, then at most max_result_bytes.
  const size_t limit = max_result_bytes + 1;
  std::string report;
  bool too_big = false;
  absl::Status read_error;
  // Small: after fork every page this process writes to is copied first
  // (a page fault each, costly under virtualization), the stack included.
  char buf[4096];
  while (true) {
    ssize_t n = ::read(report_read.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      read_error = ErrnoError(errno, "read", absl::StrCat(what, " report"));
      break;
    }
    if (n == 0) break;
    if (report.size() + static_cast<size_t>(n) > limit) {
      too_big = true;
      break;
    }
    report.append(buf, static_cast<size_t>(n));
  }
  // A child still writing (too much) must not keep the parent waiting.
  if (too_big || !read_error.ok()) ::kill(pid, SIGKILL);
  report_read.reset();
  int wstatus = 0;
  if (RetryEintr([&] { return ::waitpid(pid, &wstatus, 0); }) != pid) {
    return ErrnoError(errno, "waitpid", what);
  }
  if (too_big) {
    return absl::InternalError(
        absl::StrCat(what, ": sent more than ", max_result_bytes, " bytes"));
  }
  if (WIFSIGNALED(wstatus)) {
    const int sig = WTERMSIG(wstatus);
    return absl::InternalError(absl::StrCat(
        what, ": killed by signal ", sig, " (", ::strsignal(sig), ")",
        sig == SIGSYS ? ": a syscall outside its seccomp policy" : ""));
  }
  if (!read_error.ok()) return read_error;
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return absl::InternalError(absl::StrCat(what, ": exited with status ",
                                            WEXITSTATUS(wstatus),
                                            " without a result"));
  }
  return Decode(std::move(report), what);
}

}  // namespace chtools::sandbox
