// ErrnoError: the one way errno becomes an absl::Status, naming the call and
// the path ("open /var/lib/x: Permission denied").
#ifndef CHTOOLS_LIB_BASE_ERRNO_H_
#define CHTOOLS_LIB_BASE_ERRNO_H_

#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace chtools {

// Returns a status whose code follows absl::ErrnoToStatus(errnum) and whose
// message is "<call> <path>: <strerror>" (or "<call>: <strerror>" without a
// path).
absl::Status ErrnoError(int errnum, absl::string_view call,
                        absl::string_view path = "");

// Calls `fn` until it does not fail with EINTR; returns its last result.
template <typename Fn>
auto RetryEintr(Fn fn) -> decltype(fn()) {
  decltype(fn()) r;
  do {
    r = fn();
  } while (r == -1 && errno == EINTR);
  return r;
}

}  // namespace chtools

#endif  // CHTOOLS_LIB_BASE_ERRNO_H_
