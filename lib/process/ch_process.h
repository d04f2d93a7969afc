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

// True if `cmdline` (the NUL-separated argv of /proc/<pid>/cmdline) belongs to
// a CH process serving `api_socket`: argv[0]'s basename equals basename of
// `ch_binary`, and some argument equals `api_socket` (or is the --api-socket
// value "path=<api_socket>"). Pure.
bool IsChCmdline(absl::string_view cmdline, absl::string_view ch_binary,
                 absl::string_view api_socket);

// Reads <run_dir>/ch.pid; the process counts only if /proc/<pid>/cmdline
// passes IsChCmdline for <run_dir>/api.sock, checked AFTER opening the pidfd
// (and confirmed alive afterwards, so the answer refers to the pidfd's
// process). NotFound if there is no such live process (missing or garbage pid
// file, dead pid, other program); other errors (e.g. EACCES on the pid file)
// keep their errno code.
absl::StatusOr<ChProcess> FindChProcess(absl::string_view run_dir,
                                        absl::string_view ch_binary);

}  // namespace chtools::process

#endif  // CHTOOLS_LIB_PROCESS_CH_PROCESS_H_
