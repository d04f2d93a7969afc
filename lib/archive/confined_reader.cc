#include "lib/archive/confined_reader.h"

#include <fcntl.h>
#include <iconv.h>
#include <langinfo.h>
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
#include "absl/strings/string_view.h"
#include "lib/archive/reader.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/io.h"
#include "lib/hash/sha256.h"
#include "lib/sandbox/groups.h"
#include "lib/sandbox/policy.h"

namespace chtools::archive {
namespace {

// The child's report on the pipe: "O" + a serialized Snapshot, or
// "E" + the decimal status code + "\n" + the message.
std::string EncodeResult(const absl::StatusOr<Snapshot>& result) {
  if (result.ok()) return absl::StrCat("O", result->SerializeAsString());
  return absl::StrCat("E", static_cast<int>(result.status().code()), "\n",
                      result.status().message());
}

absl::StatusOr<Snapshot> DecodeResult(absl::string_view report,
                                      absl::string_view source_name) {
  if (!report.empty() && report[0] == 'O') {
    Snapshot s;
    if (s.ParseFromArray(report.data() + 1,
                         static_cast<int>(report.size() - 1))) {
      return s;
    }
  } else if (!report.empty() && report[0] == 'E') {
    size_t nl = report.find('\n');
    int code = 0;
    if (nl != absl::string_view::npos &&
        absl::SimpleAtoi(report.substr(1, nl - 1), &code) && code > 0 &&
        code <= static_cast<int>(absl::StatusCode::kUnauthenticated)) {
      return absl::Status(static_cast<absl::StatusCode>(code),
                          report.substr(nl + 1));
    }
  }
  return absl::InternalError(
      absl::StrCat(source_name, ": extraction process sent a bad report"));
}

// Closes every fd from 3 up except those in `keep`.
void CloseAllFdsExcept(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned first = 3;
  for (int fd : keep) {
    if (fd < 3) continue;
    if (static_cast<unsigned>(fd) > first) {
      ::close_range(first, static_cast<unsigned>(fd) - 1, 0);
    }
    first = static_cast<unsigned>(fd) + 1;
  }
  ::close_range(first, ~0U, 0);
}

// In the child: never returns.
[[noreturn]] void ExtractInChild(int in_fd, absl::string_view source_name,
                                 int staging_dirfd, const ReadLimits& limits,
                                 int report_fd) {
  // Only the fds it needs stay: stdout is the parent's record stream (a
  // compromised parser must not write records to it) and other inherited
  // fds (locks, the store) are none of its business.
  if (in_fd != STDOUT_FILENO) {
    int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null < 0 || ::dup2(null, STDOUT_FILENO) < 0) ::_exit(1);
    ::close(null);
  }
  CloseAllFdsExcept({in_fd, staging_dirfd, report_fd});
  // ^C ends the extraction (the parent reports it); the parent's handlers
  // (lib/base/interrupt.h) would only set a flag nobody reads here.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, SIG_DFL);
  // OpenSSL reads its configuration and picks its SHA-256 code on first use:
  // do that before the policy, which allows no opening of other files.
  {
    hash::Sha256 warm_up;
    warm_up.Update("x");
    (void)warm_up.HexDigest();
  }
  // libarchive converts pax names from UTF-8 with iconv, and glibc reads its
  // list of converters (/usr/lib/x86_64-linux-gnu/gconv) once, on the first
  // iconv_open: before the policy too. The converters between UTF-8 and the
  // C locale's ASCII are built into glibc (no module is loaded later).
  if (iconv_t cd = ::iconv_open(::nl_langinfo(CODESET), "UTF-8");
      cd != reinterpret_cast<iconv_t>(-1)) {
    ::iconv_close(cd);
  }
  absl::Status confined =
      sandbox::PolicyBuilder()
          // Memory, exit, futexes: any C++ program.
          .Allow(sandbox::Group::kBasicProcess)
          // Read the archive from in_fd; write, resize (holes), sync and
          // hash the staged files; write the report.
          .Allow(sandbox::Group::kReadWrite)
          // Create each listed file in the staging dir, exclusively and not
          // through a symlink; remove them again on error.
          .AllowCreateIn(staging_dirfd)
          .Apply();
  absl::StatusOr<Snapshot> result =
      confined.ok()
          ? ExtractSnapshotArchive(in_fd, source_name, staging_dirfd, limits)
          : absl::StatusOr<Snapshot>(confined);
  absl::Status sent = fs::WriteAll(report_fd, EncodeResult(result), "report");
  ::_exit(sent.ok() ? 0 : 1);
}

}  // namespace

absl::StatusOr<Snapshot> ExtractSnapshotArchiveConfined(
    int in_fd, absl::string_view source_name, int staging_dirfd,
    const ReadLimits& limits) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe2");
  UniqueFd report_read(p[0]);
  UniqueFd report_write(p[1]);
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError(errno, "fork");
  if (pid == 0) {
    report_read.reset();
    ExtractInChild(in_fd, source_name, staging_dirfd, limits,
                   report_write.get());
  }
  report_write.reset();
  // A manifest-sized record: anything much larger is not a report.
  absl::StatusOr<std::string> report =
      fs::ReadAll(report_read.get(), "extraction report", size_t{64} << 20);
  int wstatus = 0;
  if (RetryEintr([&] { return ::waitpid(pid, &wstatus, 0); }) != pid) {
    return ErrnoError(errno, "waitpid", "extraction process");
  }
  if (WIFSIGNALED(wstatus)) {
    const int sig = WTERMSIG(wstatus);
    return absl::InternalError(absl::StrCat(
        source_name, ": extraction process killed by signal ", sig, " (",
        ::strsignal(sig), ")",
        sig == SIGSYS ? ": a syscall outside its seccomp policy" : ""));
  }
  if (!report.ok()) return report.status();
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return absl::InternalError(
        absl::StrCat(source_name, ": extraction process exited with status ",
                     WEXITSTATUS(wstatus)));
  }
  return DecodeResult(*report, source_name);
}

}  // namespace chtools::archive
