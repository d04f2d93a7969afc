#include "lib/base/interrupt.h"

#include <string.h>

#include "absl/strings/str_cat.h"

namespace chtools {
namespace {

volatile sig_atomic_t g_signal = 0;

void OnSignal(int sig) {
  if (g_signal == 0) g_signal = sig;
}

}  // namespace

InterruptGuard::InterruptGuard() {
  struct sigaction sa;
  ::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  // Restarted: blocking calls go on and the operation checks between steps.
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, &old_int_);
  ::sigaction(SIGTERM, &sa, &old_term_);
  ::sigaction(SIGHUP, &sa, &old_hup_);
}

InterruptGuard::~InterruptGuard() {
  ::sigaction(SIGINT, &old_int_, nullptr);
  ::sigaction(SIGTERM, &old_term_, nullptr);
  ::sigaction(SIGHUP, &old_hup_, nullptr);
}

int InterruptSignal() { return g_signal; }

absl::Status InterruptStatus(absl::string_view what) {
  int sig = g_signal;
  if (sig == 0) return absl::OkStatus();
  return absl::CancelledError(absl::StrCat(what, ": interrupted by SIG",
                                           sigabbrev_np(sig), ", rolled back"));
}

}  // namespace chtools
