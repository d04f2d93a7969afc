// Spawn: fork/exec of one program with an explicit argv, environment, fd map,
// session and network namespace; the child is held by a pidfd.
#ifndef CHTOOLS_LIB_PROCESS_SPAWN_H_
#define CHTOOLS_LIB_PROCESS_SPAWN_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/base/unique_fd.h"
#include "lib/process/exit_info.h"

namespace chtools::process {

struct SpawnOptions {
  // argv[0]: a path (contains '/'), or a name looked up in PATH (of `env`
  // when given, else of the caller).
  std::vector<std::string> argv;
  // "NAME=value" entries; empty = inherit the caller's environment.
  std::vector<std::string> env;
  // Parent fds dup2'ed onto 0/1/2 in the child; -1 = /dev/null.
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
  // More {parent fd, child fd} pairs (child fd >= 3) to pass on. Every other
  // fd is closed at exec.
  std::vector<std::pair<int, int>> extra_fds;
  // setsid() in the child, so it outlives the caller's session/terminal.
  bool new_session = false;
  // If set: a netns file (/run/netns/<name>, /proc/<pid>/ns/net) that the
  // child joins with setns(CLONE_NEWNET) before exec.
  std::string netns_path;
  // If set: the child's working directory.
  std::string cwd;
};

// A spawned child process. Move-only. The destructor of a Child that was
// neither waited for nor detached kills it (SIGKILL) and reaps it, so a
// forgotten child never leaks; call Detach() for daemons.
class Child {
 public:
  Child(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  // The pidfd (O_CLOEXEC), owned by this object; -1 after Detach().
  int pidfd() const { return pidfd_.get(); }

  // Blocks until the child ends and reaps it. FailedPrecondition if it was
  // already reaped or detached.
  absl::StatusOr<ExitInfo> Wait();
  // Like Wait(), but gives up after `timeout`: nullopt = still running.
  absl::StatusOr<std::optional<ExitInfo>> WaitFor(absl::Duration timeout);
  // Sends `sig` through the pidfd (never hits a reused pid). FailedPrecondition
  // once reaped or detached; NotFound if the process is gone.
  absl::Status Signal(int sig);
  // Stops owning the child: it is neither killed nor reaped by this object.
  // Returns its pid.
  pid_t Detach();

 private:
  void KillAndReap();

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  bool reaped_ = false;
};

// Starts options.argv. Failures before or at exec (binary not found or not
// executable, netns or cwd unusable) come back as a Status naming argv[0]
// (through a CLOEXEC error pipe), never as a child exiting 127.
// InvalidArgument for an empty argv or a bad extra_fds entry.
absl::StatusOr<Child> Spawn(const SpawnOptions& options);

struct CommandResult {
  ExitInfo exit = ExitInfo::Exited(0);
  std::string out;  // everything the command wrote to stdout
  std::string err;  // everything the command wrote to stderr
};

// Runs `argv` (stdin /dev/null) to completion, capturing stdout and stderr.
// A non-zero exit is not an error: look at result.exit. DeadlineExceeded
// (the child is killed and reaped) after `timeout`.
absl::StatusOr<CommandResult> RunCommand(
    const std::vector<std::string>& argv,
    absl::Duration timeout = absl::Minutes(5));
// Same with full options (stdout_fd/stderr_fd are replaced by the capture
// pipes; stdin_fd, env, cwd, netns_path are honoured).
absl::StatusOr<CommandResult> RunCommand(
    const SpawnOptions& options, absl::Duration timeout = absl::Minutes(5));

}  // namespace chtools::process

#endif  // CHTOOLS_LIB_PROCESS_SPAWN_H_
