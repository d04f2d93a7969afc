// The one way the tools connect to a unix stream socket (CH's API socket, a
// serial console socket), and who listens on one.
#ifndef CHTOOLS_LIB_FS_UNIX_SOCKET_H_
#define CHTOOLS_LIB_FS_UNIX_SOCKET_H_

#include <sys/types.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/base/unique_fd.h"

namespace chtools::fs {

// sun_path holds 108 bytes with the terminating NUL.
inline constexpr size_t kMaxSocketPath = 107;

// Connects a SOCK_STREAM|SOCK_CLOEXEC socket (non-blocking when
// `nonblocking`) to `path`. A unix connect completes or fails at once.
// InvalidArgument for an empty path or one longer than kMaxSocketPath;
// otherwise the errno status of connect(2) naming the path (ECONNREFUSED ->
// Unavailable, ENOENT -> NotFound).
absl::StatusOr<UniqueFd> ConnectUnix(absl::string_view path,
                                     bool nonblocking = false);

// The pid of the process that called listen(2) on the socket `fd` is
// connected to (SO_PEERCRED of a connecting socket reports the listener's
// credentials of listen time). Errno status otherwise.
absl::StatusOr<pid_t> PeerPid(int fd);

}  // namespace chtools::fs

#endif  // CHTOOLS_LIB_FS_UNIX_SOCKET_H_
