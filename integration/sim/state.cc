// VmState transitions; see state.h.
#include "integration/sim/state.h"

#include "absl/strings/str_cat.h"

namespace chtools::sim {

const char* StateName(VmState s) {
  switch (s) {
    case VmState::kCreated:
      return "Created";
    case VmState::kRunning:
      return "Running";
    case VmState::kShutdown:
      return "Shutdown";
    case VmState::kPaused:
      return "Paused";
    case VmState::kBreakPoint:
      return "BreakPoint";
  }
  return "?";
}

absl::Status CheckTransition(VmState from, VmState to) {
  bool ok = false;
  switch (from) {
    case VmState::kCreated:
      ok = to == VmState::kRunning || to == VmState::kPaused ||
           to == VmState::kShutdown || to == VmState::kBreakPoint;
      break;
    case VmState::kRunning:
      ok = to == VmState::kPaused || to == VmState::kShutdown ||
           to == VmState::kBreakPoint;
      break;
    case VmState::kPaused:
      ok = to == VmState::kRunning || to == VmState::kShutdown;
      break;
    case VmState::kShutdown:
      ok = to == VmState::kRunning;
      break;
    case VmState::kBreakPoint:
      ok = to == VmState::kCreated || to == VmState::kRunning;
      break;
  }
  if (ok) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "invalid VM state transition: ", StateName(from), " to ", StateName(to)));
}

}  // namespace chtools::sim
