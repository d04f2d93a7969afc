// WaitForApiSocket: wait for a freshly started CH to accept connections on its
// API socket, driven by inotify and the process's pidfd, not by sleeping.
#ifndef CHTOOLS_LIB_CHAPI_WAIT_SOCKET_H_
#define CHTOOLS_LIB_CHAPI_WAIT_SOCKET_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace chtools::chapi {

// Waits until the API socket at `socket_path` accepts a connection (inotify on
// its directory + connect, no sleep-polling), failing early with
// FailedPrecondition if the process behind `pidfd` exits (pidfd >= 0),
// DeadlineExceeded after `timeout`. The directory must exist (else the
// inotify_add_watch errno status, e.g. NotFound).
absl::Status WaitForApiSocket(absl::string_view socket_path, int pidfd,
                              absl::Duration timeout);

}  // namespace chtools::chapi

#endif  // CHTOOLS_LIB_CHAPI_WAIT_SOCKET_H_
