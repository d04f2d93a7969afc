// ch-launch start / stop / rm / debug of one VM (reference 3.3-3.5, 3.13):
// the CH process is found and signalled only through lib/process pidfds, the
// API socket awaited without polling.
#ifndef CHTOOLS_TOOLS_CH_LAUNCH_LIFECYCLE_H_
#define CHTOOLS_TOOLS_CH_LAUNCH_LIFECYCLE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/base/unique_fd.h"
#include "lib/record/records.pb.h"
#include "tools/ch-launch/create.h"

namespace ch_launch {

// Serializes start/stop/rm of one VM across processes (two concurrent starts
// must not launch two CH on the same disks): an exclusive flock on `run_dir`,
// waited for at most `timeout`. A missing run dir gives an empty fd (there is
// no CH to race with). The fd is O_CLOEXEC, so CH never inherits the lock.
absl::StatusOr<chtools::UniqueFd> LockRunDir(const std::string& run_dir,
                                             absl::Duration timeout);

// The CH argv (binary first) that start runs for `vm`. Errors as BuildChArgs.
absl::StatusOr<std::vector<std::string>> ChArgv(const Env& env, const chtools::Vm& vm);

// Starts the VM `id`: idempotent (a live CH is reported, and an `error` or
// stale record with a live CH becomes RUNNING); otherwise cleans stale
// runtime files, saves the quoted command in <run_dir>/cmdline, spawns CH
// detached (own session, the NICs' netns, output appended to
// <log_dir>/cloud-hypervisor.log), writes ch.pid and waits for api.sock. On
// a failed launch the record becomes ERROR. Returns the RUNNING record with
// pid and api_socket filled in. FailedPrecondition for a CREATING record.
absl::StatusOr<chtools::Vm> StartVm(const Env& env, const std::string& id);

// Stops the VM `id`: firmware boot: vm.power-button, wait up to `timeout`,
// then escalate; direct boot: vm.shutdown, SIGTERM, `grace`, SIGKILL. A VM
// without a live CH just becomes STOPPED. On success the runtime files go; on
// failure the record becomes ERROR and they stay. Returns the record.
absl::StatusOr<chtools::Vm> StopVm(const Env& env, const std::string& id,
                                   absl::Duration timeout);

// Removes the VM `id`: a live CH needs `force` (which stops it first,
// FailedPrecondition otherwise); the run and log dirs go before the record so
// that a failure can be retried. Returns the record as it was.
absl::StatusOr<chtools::Vm> RemoveVm(const Env& env, const std::string& id, bool force,
                                     absl::Duration timeout);

// The command start would run, quoted for pasting into a shell.
absl::StatusOr<std::string> DebugVm(const Env& env, const std::string& id);

}  // namespace ch_launch

#endif  // CHTOOLS_TOOLS_CH_LAUNCH_LIFECYCLE_H_
