#include "lib/process/spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/process/pidfd.h"

extern char** environ;

namespace chtools::process {
namespace {

// What the child reports through the error pipe when it cannot exec.
enum class Stage : int { kSignals, kSetsid, kSetns, kChdir, kFds, kExec };

struct ChildError {
  Stage stage;
  int err;
};

// Milliseconds for poll(2): rounded up, clamped, never negative.
int PollMillis(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  int64_t ms =
      absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)));
  return static_cast<int>(std::min<int64_t>(ms, INT_MAX));
}

std::string FindPathValue(const std::vector<std::string>& env) {
  if (env.empty()) {
    const char* p = getenv("PATH");
    return p != nullptr ? p : "/usr/local/bin:/usr/bin:/bin";
  }
  for (const std::string& e : env) {
    if (absl::StartsWith(e, "PATH=")) return e.substr(5);
  }
  return "/usr/local/bin:/usr/bin:/bin";
}

absl::StatusOr<std::string> ResolveProgram(
    const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  if (name.empty()) return absl::InvalidArgumentError("spawn: empty argv[0]");
  for (absl::string_view dir : absl::StrSplit(FindPathValue(env), ':')) {
    std::string candidate = dir.empty() ? name : absl::StrCat(dir, "/", name);
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return absl::NotFoundError(
      absl::StrCat("spawn ", name, ": not found in PATH"));
}

// Only async-signal-safe calls from here until exec: the parent may have
// other threads holding locks.
[[noreturn]] void RunChild(int err_fd, const char* path, char* const* argv,
                           char* const* envp, bool new_session, int netns_fd,
                           const char* cwd, const int* map_src,
                           const int* map_dst, int* map_tmp, size_t map_count,
                           int max_target) {
  auto fail = [&](Stage stage) {
    ChildError e{stage, errno};
    ssize_t unused = ::write(err_fd, &e, sizeof(e));
    (void)unused;
    ::_exit(127);
  };
  sigset_t all;
  sigemptyset(&all);
  if (::sigprocmask(SIG_SETMASK, &all, nullptr) != 0) fail(Stage::kSignals);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::sigaction(sig, &dfl, nullptr);  // EINVAL for reserved RT signals: fine
  }
  if (new_session && ::setsid() < 0) fail(Stage::kSetsid);
  if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0)
    fail(Stage::kSetns);
  if (cwd != nullptr && ::chdir(cwd) != 0) fail(Stage::kChdir);
  // Every inherited fd that nobody asked for must not reach the program,
  // including ones other code opened without O_CLOEXEC.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  // Keep the error pipe out of the way of the mapped fds.
  int moved = ::fcntl(err_fd, F_DUPFD_CLOEXEC, max_target + 1);
  if (moved < 0) fail(Stage::kFds);
  err_fd = moved;
  // Two passes, so a source that is also some mapping's target is not
  // clobbered before it is read.
  for (size_t i = 0; i < map_count; ++i) {
    map_tmp[i] = ::fcntl(map_src[i], F_DUPFD_CLOEXEC, max_target + 1);
    if (map_tmp[i] < 0) fail(Stage::kFds);
  }
  for (size_t i = 0; i < map_count; ++i) {
    if (::dup2(map_tmp[i], map_dst[i]) < 0) fail(Stage::kFds);
  }
  ::execve(path, argv, envp);
  fail(Stage::kExec);
  ::_exit(127);
}

absl::Status ChildErrorToStatus(const ChildError& e, const SpawnOptions& o,
                                const std::string& path) {
  switch (e.stage) {
    case Stage::kSignals:
      return ErrnoError(e.err, "spawn: sigprocmask");
    case Stage::kSetsid:
      return ErrnoError(e.err, "spawn: setsid");
    case Stage::kSetns:
      return ErrnoError(e.err, "setns", o.netns_path);
    case Stage::kChdir:
      return ErrnoError(e.err, "chdir", o.cwd);
    case Stage::kFds:
      return ErrnoError(e.err, "spawn: dup2");
    case Stage::kExec:
      return ErrnoError(e.err, "exec", path);
  }
  return absl::InternalError("spawn: unknown child error");
}

}  // namespace

Child::Child(Child&& other) noexcept
    : pid_(other.pid_),
      pidfd_(std::move(other.pidfd_)),
      reaped_(other.reaped_) {
  other.pid_ = -1;
  other.reaped_ = true;
}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    KillAndReap();
    pid_ = other.pid_;
    pidfd_ = std::move(other.pidfd_);
    reaped_ = other.reaped_;
    other.pid_ = -1;
    other.reaped_ = true;
  }
  return *this;
}

Child::~Child() { KillAndReap(); }

void Child::KillAndReap() {
  if (reaped_ || !pidfd_.valid()) return;
  PidfdSendSignal(pidfd_.get(), SIGKILL);
  siginfo_t info;
  RetryEintr([&] {
    return ::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED);
  });
  reaped_ = true;
  pidfd_.reset();
}

absl::StatusOr<ExitInfo> Child::Wait() {
  if (reaped_ || !pidfd_.valid()) {
    return absl::FailedPreconditionError(
        absl::StrCat("wait: process ", pid_, " already reaped or detached"));
  }
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  if (RetryEintr([&] {
        return ::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info,
                        WEXITED);
      }) != 0) {
    return ErrnoError(errno, "waitid", absl::StrCat("pid ", pid_));
  }
  reaped_ = true;
  return ExitInfo::FromSiginfo(info);
}

absl::StatusOr<std::optional<ExitInfo>> Child::WaitFor(absl::Duration timeout) {
  if (reaped_ || !pidfd_.valid()) {
    return absl::FailedPreconditionError(
        absl::StrCat("wait: process ", pid_, " already reaped or detached"));
  }
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    siginfo_t info;
    std::memset(&info, 0, sizeof(info));
    if (RetryEintr([&] {
          return ::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info,
                          WEXITED | WNOHANG);
        }) != 0) {
      return ErrnoError(errno, "waitid", absl::StrCat("pid ", pid_));
    }
    if (info.si_pid != 0) {
      reaped_ = true;
      return std::optional<ExitInfo>(ExitInfo::FromSiginfo(info));
    }
    int ms = PollMillis(deadline);
    if (ms == 0 && absl::Now() >= deadline) return std::optional<ExitInfo>();
    struct pollfd p = {pidfd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, ms);
    if (r < 0 && errno != EINTR) return ErrnoError(errno, "poll", "pidfd");
    if (r == 0 && absl::Now() >= deadline) {
      // One last non-blocking look: the child may have ended at the bell.
      continue;
    }
  }
}

absl::Status Child::Signal(int sig) {
  if (reaped_ || !pidfd_.valid()) {
    return absl::FailedPreconditionError(
        absl::StrCat("signal: process ", pid_, " already reaped or detached"));
  }
  if (PidfdSendSignal(pidfd_.get(), sig) != 0) {
    return ErrnoError(errno, "pidfd_send_signal", absl::StrCat("pid ", pid_));
  }
  return absl::OkStatus();
}

pid_t Child::Detach() {
  pid_t pid = pid_;
  pidfd_.reset();
  reaped_ = true;
  return pid;
}

absl::StatusOr<Child> Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) {
    return absl::InvalidArgumentError("spawn: empty argv");
  }
  ASSIGN_OR_RETURN(std::string path,
                   ResolveProgram(options.argv[0], options.env));

  UniqueFd dev_null;
  if (options.stdin_fd < 0 || options.stdout_fd < 0 || options.stderr_fd < 0) {
    dev_null.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!dev_null.valid()) return ErrnoError(errno, "open", "/dev/null");
  }
  UniqueFd netns;
  if (!options.netns_path.empty()) {
    netns.reset(::open(options.netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns.valid()) return ErrnoError(errno, "open", options.netns_path);
  }

  // Everything the child needs is allocated before fork.
  std::vector<int> map_src, map_dst;
  auto std_src = [&](int fd) { return fd >= 0 ? fd : dev_null.get(); };
  map_src = {std_src(options.stdin_fd), std_src(options.stdout_fd),
             std_src(options.stderr_fd)};
  map_dst = {0, 1, 2};
  int max_target = 2;
  for (const auto& [src, dst] : options.extra_fds) {
    if (src < 0 || dst < 3) {
      return absl::InvalidArgumentError(
          absl::StrCat("spawn: bad fd mapping ", src, " -> ", dst,
                       " (child fd must be >= 3)"));
    }
    map_src.push_back(src);
    map_dst.push_back(dst);
    max_target = std::max(max_target, dst);
  }
  std::vector<int> map_tmp(map_src.size(), -1);

  std::vector<char*> argv;
  for (const std::string& a : options.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  char** envp_ptr = environ;
  if (!options.env.empty()) {
    for (const std::string& e : options.env)
      envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    envp_ptr = envp.data();
  }
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe2");
  UniqueFd err_read(pipe_fds[0]), err_write(pipe_fds[1]);

  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError(errno, "fork");
  if (pid == 0) {
    RunChild(err_write.get(), path.c_str(), argv.data(), envp_ptr,
             options.new_session, netns.get(), cwd, map_src.data(),
             map_dst.data(), map_tmp.data(), map_src.size(), max_target);
  }
  err_write.reset();
  // The child is not reaped yet, so its pid cannot have been reused.
  UniqueFd pidfd(PidfdOpen(pid));
  int pidfd_errno = errno;

  ChildError report;
  ssize_t n = RetryEintr(
      [&] { return ::read(err_read.get(), &report, sizeof(report)); });
  if (n == static_cast<ssize_t>(sizeof(report)) || !pidfd.valid()) {
    int status;
    RetryEintr([&] { return ::waitpid(pid, &status, 0); });
    if (!pidfd.valid()) return ErrnoError(pidfd_errno, "pidfd_open");
    return ChildErrorToStatus(report, options, path);
  }
  if (n != 0) {
    ::kill(pid, SIGKILL);
    int status;
    RetryEintr([&] { return ::waitpid(pid, &status, 0); });
    return absl::InternalError("spawn: short read from the error pipe");
  }
  return Child(pid, std::move(pidfd));
}

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         absl::Duration timeout) {
  SpawnOptions options;
  options.argv = argv;
  return RunCommand(options, timeout);
}

absl::StatusOr<CommandResult> RunCommand(const SpawnOptions& in_options,
                                         absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe2");
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe2");
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);

  SpawnOptions options = in_options;
  options.stdout_fd = out_w.get();
  options.stderr_fd = err_w.get();
  ASSIGN_OR_RETURN(Child child, Spawn(options));
  out_w.reset();
  err_w.reset();

  CommandResult result;
  UniqueFd* fds[2] = {&out_r, &err_r};
  std::string* bufs[2] = {&result.out, &result.err};
  bool exited = false;
  char buf[65536];
  while (out_r.valid() || err_r.valid()) {
    struct pollfd p[3];
    int np = 0;
    int which[3];
    for (int i = 0; i < 2; ++i) {
      if (fds[i]->valid()) {
        p[np] = {fds[i]->get(), POLLIN, 0};
        which[np++] = i;
      }
    }
    if (!exited) {
      p[np] = {child.pidfd(), POLLIN, 0};
      which[np++] = 2;
    }
    int ms = PollMillis(deadline);
    int r = ::poll(p, np, exited ? 0 : ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "poll");
    }
    if (r == 0) {
      // After the child ended, a pipe still open is held by a descendant:
      // what the child itself wrote has been read, so stop here.
      if (exited) break;
      if (absl::Now() >= deadline) {
        (void)child.Signal(SIGKILL);
        (void)child.Wait();
        return absl::DeadlineExceededError(
            absl::StrCat(options.argv[0], ": timed out after ",
                         absl::FormatDuration(timeout)));
      }
      continue;
    }
    for (int k = 0; k < np; ++k) {
      if (p[k].revents == 0) continue;
      if (which[k] == 2) {
        exited = true;
        continue;
      }
      UniqueFd& fd = *fds[which[k]];
      ssize_t n =
          RetryEintr([&] { return ::read(fd.get(), buf, sizeof(buf)); });
      if (n <= 0) {
        fd.reset();
      } else {
        bufs[which[k]]->append(buf, static_cast<size_t>(n));
      }
    }
  }
  ASSIGN_OR_RETURN(result.exit, child.Wait());
  return result;
}

}  // namespace chtools::process
