#include "lib/fs/unix_socket.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"

namespace chtools::fs {

absl::StatusOr<UniqueFd> ConnectUnix(absl::string_view path, bool nonblocking) {
  struct sockaddr_un addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() > kMaxSocketPath) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path \"", path, "\" is empty or longer than ",
                     kMaxSocketPath, " bytes"));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(
      AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0),
      0));
  if (!fd.valid()) return ErrnoError(errno, "socket", path);
  if (RetryEintr([&] {
        return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr),
                         sizeof(addr));
      }) != 0) {
    return ErrnoError(errno, "connect", path);
  }
  return fd;
}

absl::StatusOr<pid_t> PeerPid(int fd) {
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return ErrnoError(errno, "getsockopt SO_PEERCRED");
  }
  if (cred.pid <= 0) {
    return absl::NotFoundError(
        "SO_PEERCRED: the listener's pid is not visible");
  }
  return cred.pid;
}

}  // namespace chtools::fs
