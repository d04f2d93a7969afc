// The Vm-object state machine of CH v51 (vm.rs VmState::valid_transition).
#ifndef CHTOOLS_INTEGRATION_SIM_STATE_H_
#define CHTOOLS_INTEGRATION_SIM_STATE_H_

#include <string>

#include "absl/status/status.h"

namespace chtools::sim {

enum class VmState { kCreated, kRunning, kShutdown, kPaused, kBreakPoint };

// "Created", "Running", ... (the Debug/serde names).
const char* StateName(VmState s);

// Ok if CH allows from -> to; otherwise FailedPrecondition
// "invalid VM state transition: <From> to <To>".
absl::Status CheckTransition(VmState from, VmState to);

}  // namespace chtools::sim

#endif  // CHTOOLS_INTEGRATION_SIM_STATE_H_
