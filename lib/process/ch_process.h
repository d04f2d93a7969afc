// ChProcess: the live Cloud Hypervisor process of one VM, found through the
// VM's pid file and held by a pidfd so a reused pid is never signalled.
#ifndef CHTOOLS_LIB_PROCESS_CH_PROCESS_H_
#define CHTOOLS_LIB_PROCESS_CH_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/base/unique_fd.h"

namespace chtools::process {

class ChProcess {
 public:
  ChProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}

  pid_t pid() const { return pid_; }
  // Owned by this object (O_CLOEXEC).
  int pidfd() const { return pidfd_.get(); }
  // Sends `sig` through the pidfd. NotFound (ESRCH) once the process is gone.
  absl::Status Signal(int sig);
  // True until the process has exited (a zombie counts as exited).
  bool Alive() const;
  // Waits up to `timeout` for the process to exit: true = it exited, false =
  // still alive at the deadline. Works for processes that are not our child
  // (the pidfd becomes readable at exit; nothing is reaped here).
  absl::StatusOr<bool> WaitExit(absl::Duration timeout);

 private:
  pid_t pid_;
  UniqueFd pidfd_;
};

// True if `cmdline` (the NUL-separated argv of /proc/<pid>/cmdline) names
// `api_socket` as an argument (argv[1..]: the path itself, "path=<path>" or
// "--api-socket=<path>"). argv[0] does not count: a wrapper script, a
// renamed or NixOS-wrapped binary all run CH under another name. Pure.
bool CmdlineNamesSocket(absl::string_view cmdline,
                        absl::string_view api_socket);

// The live CH serving one VM, identified by what cannot be faked by
// accident: the process that listens on `api_socket` (SO_PEERCRED of a
// connection) and names it in its argv. When nothing listens (its socket
// removed), the pid in `pid_file` counts if its argv names `api_socket` and
// it holds one of `own_files` (the VM's writable disks) open. Each check is
// made after opening the pidfd and confirmed alive afterwards, so the answer
// refers to the pidfd's process. NotFound: no such live process (nothing
// listens, pid file missing, stale or naming another program).
// FailedPrecondition: a live process serves `api_socket` but its argv does not
// name it, so it cannot be proven to be this VM's CH: callers must refuse to
// act (never count it as stopped). Other errors (EACCES...) keep their errno
// code.
absl::StatusOr<ChProcess> FindChProcess(
    absl::string_view api_socket, absl::string_view pid_file,
    const std::vector<std::string>& own_files);

}  // namespace chtools::process

#endif  // CHTOOLS_LIB_PROCESS_CH_PROCESS_H_
