// Console/serial devices; see console.h.
#include "integration/sim/console.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "integration/sim/http.h"

namespace chtools::sim {
namespace {

std::string OsError(int err) {
  return absl::StrCat(strerror(err), " (os error ", err, ")");
}

}  // namespace

absl::StatusOr<std::unique_ptr<ConsoleDevice>> ConsoleDevice::Create(
    Loop* loop, const Json& cfg, bool is_serial) {
  std::unique_ptr<ConsoleDevice> d(new ConsoleDevice(loop));
  d->mode_ = cfg.value("mode", "Null");
  const char* prefix = "Error creating console devices\n";
  if (d->mode_ == "Pty") {
    int m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (m < 0)
      m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (m < 0) {
      return absl::InternalError(
          absl::StrCat(prefix, "Error creating PTY\n", OsError(errno)));
    }
    d->out_.reset(m);
    int unlock = 0;
    if (ioctl(m, TIOCSPTLCK, &unlock) < 0) {
      return absl::InternalError(
          absl::StrCat(prefix, "Error creating PTY\n", OsError(errno)));
    }
    int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (peer < 0) {
      return absl::InternalError(
          absl::StrCat(prefix, "Error creating PTY\n", OsError(errno)));
    }
    d->pty_peer_.reset(peer);
    termios t;
    if (tcgetattr(peer, &t) == 0) {
      cfmakeraw(&t);
      tcsetattr(peer, TCSANOW, &t);
    }
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", peer);
    char target[256];
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n > 0) d->path_.assign(target, static_cast<size_t>(n));
    d->input_fd_ = m;
    ConsoleDevice* self = d.get();
    loop->Watch(m, POLLIN, [self, m](short) { self->OnInput(m, false); });
  } else if (d->mode_ == "Socket") {
    if (!is_serial) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "No socket option support for console device"));
    }
    d->path_ = cfg.value("socket", "");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (d->path_.size() >= sizeof(addr.sun_path)) {
      return absl::InvalidArgumentError(absl::StrCat(
          prefix,
          "Error binding serial socket\npath must be shorter than SUN_LEN"));
    }
    strncpy(addr.sun_path, d->path_.c_str(), sizeof(addr.sun_path) - 1);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0) return absl::InternalError(absl::StrCat(prefix, OsError(errno)));
    d->listener_.reset(s);
    if (bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0 ||
        listen(s, 16) < 0) {
      return absl::InternalError(absl::StrCat(
          prefix, "Error binding serial socket\n", OsError(errno)));
    }
    ConsoleDevice* self = d.get();
    loop->Watch(s, POLLIN, [self](short) { self->OnAccept(); });
  } else if (d->mode_ == "File") {
    d->path_ = cfg.value("file", "");
    int fd =
        open(d->path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
      return absl::InternalError(absl::StrCat(
          prefix, "Error creating console file\n", OsError(errno)));
    }
    d->out_.reset(fd);
  } else if (d->mode_ == "Tty") {
    d->out_.reset(fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3));
    if (isatty(STDIN_FILENO)) {
      d->input_fd_ = STDIN_FILENO;
      ConsoleDevice* self = d.get();
      loop->Watch(STDIN_FILENO, POLLIN,
                  [self](short) { self->OnInput(STDIN_FILENO, false); });
    }
  }
  return d;
}

ConsoleDevice::~ConsoleDevice() {
  if (input_fd_ >= 0) loop_->Unwatch(input_fd_);
  if (listener_) loop_->Unwatch(listener_.get());
}

void ConsoleDevice::Write(absl::string_view bytes) {
  if (!out_) return;
  if (mode_ == "Socket") {
    send(out_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    return;
  }
  // A full PTY buffer (nobody reading) drops output rather than blocking.
  while (!bytes.empty()) {
    ssize_t n = write(out_.get(), bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void ConsoleDevice::OnInput(int fd, bool socket_client) {
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof(buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    if (socket_client) {
      DropClient();
    } else {
      loop_->Unwatch(fd);
      input_fd_ = -1;
    }
    return;
  }
  std::string data(buf, static_cast<size_t>(n));
  // CH's serial socket turns a read of exactly "\n" into "\r".
  if (socket_client && data == "\n") data = "\r";
  if (input_) input_(data);
}

void ConsoleDevice::DropClient() {
  if (input_fd_ >= 0) loop_->Unwatch(input_fd_);
  input_fd_ = -1;
  if (out_) shutdown(out_.get(), SHUT_RDWR);
  out_.reset();
}

void ConsoleDevice::OnAccept() {
  int c =
      accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (c < 0) return;
  // The newest client wins: the previous one is shut down both ways.
  DropClient();
  out_.reset(c);
  input_fd_ = c;
  loop_->Watch(c, POLLIN, [this, c](short) { OnInput(c, true); });
}

void ConsoleDevice::UnlinkSocket() {
  if (mode_ == "Socket" && listener_) unlink(path_.c_str());
}

}  // namespace chtools::sim
