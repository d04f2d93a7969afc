// Waiting for a freshly launched CH to run its VM. CH binds its API socket
// first and only then creates and boots the VM from its command line, so an
// early vm.info answers "VM is not created" or state "Created": that is "not
// yet", not a failure (docs/ch-v51.md, "Start-up order").
#ifndef CHTOOLS_LIB_VM_BOOT_WAIT_H_
#define CHTOOLS_LIB_VM_BOOT_WAIT_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/chapi/client.h"

namespace chtools::vm {

// Asks vm.info until it says "Running" (ok), the process behind `pidfd`
// exits (FailedPrecondition "cloud-hypervisor exited before ..."), vm.info
// reports a state that cannot become Running (FailedPrecondition naming it),
// or `deadline` passes (DeadlineExceeded naming the last answer). Between
// questions it sleeps on the pidfd, 1 ms doubling to at most 8 ms, so a
// boot is seen within a few ms and a dying CH at once.
absl::Status WaitRunning(chapi::Client& api, int pidfd, absl::Time deadline,
                         const std::function<absl::Time()>& now);

// The error chain CH printed in `log` (its output since this launch began):
// "Error: Cloud Hypervisor exited with the following chain of errors:" and
// the numbered lines after it, joined by ": "; else the last non-empty
// line; "" if there is none. Pure.
std::string ChErrorFromLog(absl::string_view log);

}  // namespace chtools::vm

#endif  // CHTOOLS_LIB_VM_BOOT_WAIT_H_
