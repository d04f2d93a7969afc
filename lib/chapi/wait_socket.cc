#include "lib/chapi/wait_socket.h"

#include <poll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/unix_socket.h"

namespace chtools::chapi {
namespace {

// Ok when the socket accepted; NotFound while it does not exist,
// Unavailable while it refuses (ECONNREFUSED, EAGAIN); other errors are final.
absl::Status TryConnect(absl::string_view path) {
  return fs::ConnectUnix(path, /*nonblocking=*/true).status();
}

}  // namespace

absl::Status WaitForApiSocket(absl::string_view socket_path, int pidfd,
                              absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  if (socket_path.empty() ||
      socket_path.size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "API socket path \"", socket_path, "\" is empty or too long"));
  }
  size_t slash = socket_path.rfind('/');
  std::string dir =
      slash == absl::string_view::npos
          ? std::string(".")
          : std::string(socket_path.substr(0, std::max<size_t>(slash, 1)));

  UniqueFd in(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!in.valid()) return ErrnoError(errno, "inotify_init1");
  // The watch goes in before the first connect, so a socket created in
  // between is not missed.
  if (::inotify_add_watch(in.get(), dir.c_str(),
                          IN_CREATE | IN_MOVED_TO | IN_ATTRIB) < 0) {
    return ErrnoError(errno, "inotify_add_watch", dir);
  }

  // bind(2) creates the file before listen(2) runs and nothing signals the
  // listen, so "exists but refuses" is retried on a short backoff.
  absl::Duration backoff = absl::Milliseconds(1);
  while (true) {
    absl::Status err = TryConnect(socket_path);
    if (err.ok()) return absl::OkStatus();
    if (!absl::IsNotFound(err) && !absl::IsUnavailable(err)) return err;
    absl::Time now = absl::Now();
    if (now >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "API socket ", socket_path, " not ready after ",
          absl::FormatDuration(timeout), " (", err.message(), ")"));
    }
    absl::Time wake = deadline;
    if (!absl::IsNotFound(err)) {
      wake = std::min(deadline, now + backoff);
      backoff = std::min(backoff * 2, absl::Milliseconds(50));
    }
    int64_t ms = absl::ToInt64Milliseconds(
        absl::Ceil(wake - now, absl::Milliseconds(1)));
    struct pollfd p[2] = {{in.get(), POLLIN, 0}, {pidfd, POLLIN, 0}};
    int r = ::poll(p, pidfd >= 0 ? 2 : 1,
                   static_cast<int>(std::min<int64_t>(ms, INT_MAX)));
    if (r < 0 && errno != EINTR) return ErrnoError(errno, "poll");
    if (pidfd >= 0 && r > 0 && (p[1].revents & POLLIN)) {
      // A last look: it may have exited after binding (then the socket is
      // stale and connect fails anyway).
      if (TryConnect(socket_path).ok()) return absl::OkStatus();
      return absl::FailedPreconditionError(
          absl::StrCat("the process exited before its API socket ", socket_path,
                       " accepted connections"));
    }
    if (r > 0 && (p[0].revents & POLLIN)) {
      char buf[4096];
      while (::read(in.get(), buf, sizeof(buf)) > 0) {
      }
    }
  }
}

}  // namespace chtools::chapi
