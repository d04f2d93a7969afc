// Interrupts as rollbacks: while an InterruptGuard lives, SIGINT, SIGTERM
// and SIGHUP do not kill the tool; they are noted, and the operation under
// way asks InterruptStatus() between steps and rolls back instead of leaving
// half-made VMs (a Ctrl-C during mkfs).
#ifndef CHTOOLS_LIB_BASE_INTERRUPT_H_
#define CHTOOLS_LIB_BASE_INTERRUPT_H_

#include <csignal>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace chtools {

class InterruptGuard {
 public:
  // Installs the handlers (the previous ones come back with the destructor).
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction old_int_, old_term_, old_hup_;
};

// The first interrupting signal caught so far, 0 if none.
int InterruptSignal();

// Cancelled "<what>: interrupted by SIGxxx" once a signal was caught, else ok.
absl::Status InterruptStatus(absl::string_view what);

}  // namespace chtools

#endif  // CHTOOLS_LIB_BASE_INTERRUPT_H_
