#include "lib/chapi/unix_http.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/unix_socket.h"
#include "lib/record/printable.h"

namespace chtools::chapi {
namespace {

// CH answers are small; a full vm.info is a few KiB. Refuse to buffer
// without bound from a misbehaving peer.
constexpr size_t kMaxResponse = 64 << 20;

int PollMillis(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  int64_t ms =
      absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)));
  return static_cast<int>(std::min<int64_t>(ms, INT_MAX));
}

// Reads a response from a non-blocking socket under a deadline, or (fd -1)
// from bytes already received in full: then the stream is at EOF from the
// start, so the parsing below never touches a socket.
class Reader {
 public:
  Reader(int fd, absl::Time deadline, std::string what)
      : fd_(fd), deadline_(deadline), what_(std::move(what)) {}
  Reader(absl::string_view bytes, std::string what)
      : fd_(-1), what_(std::move(what)), buf_(bytes), eof_(true) {}

  // Appends more bytes to buf_. Sets eof_ at end of stream.
  absl::Status Fill() {
    if (fd_ < 0) {
      eof_ = true;
      return absl::OkStatus();
    }
    while (true) {
      char chunk[16384];
      ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n > 0) {
        buf_.append(chunk, static_cast<size_t>(n));
        if (buf_.size() > kMaxResponse) {
          return absl::InternalError(absl::StrCat(
              what_, ": response larger than ", kMaxResponse, " bytes"));
        }
        return absl::OkStatus();
      }
      if (n == 0) {
        eof_ = true;
        return absl::OkStatus();
      }
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) {
        eof_ = true;
        return absl::OkStatus();
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return ErrnoError(errno, absl::StrCat(what_, ": recv"));
      }
      struct pollfd p = {fd_, POLLIN, 0};
      int r = ::poll(&p, 1, PollMillis(deadline_));
      if (r < 0 && errno != EINTR) return ErrnoError(errno, "poll");
      if (r == 0) return TimedOut();
    }
  }

  // Makes buf_ hold at least `n` bytes, or fails at EOF.
  absl::Status Need(size_t n) {
    while (buf_.size() < n) {
      if (eof_) return Broken();
      RETURN_IF_ERROR(Fill());
    }
    return absl::OkStatus();
  }

  // Returns the position of `delim` in buf_ at or after `from`, reading more as
  // needed; fails at EOF.
  absl::StatusOr<size_t> Find(absl::string_view delim, size_t from = 0) {
    while (true) {
      size_t pos = buf_.find(delim.data(), from, delim.size());
      if (pos != std::string::npos) return pos;
      if (eof_) return Broken();
      RETURN_IF_ERROR(Fill());
    }
  }

  absl::Status ReadToEof() {
    while (!eof_) RETURN_IF_ERROR(Fill());
    return absl::OkStatus();
  }

  absl::Status TimedOut() const {
    return absl::DeadlineExceededError(
        absl::StrCat(what_, ": no complete answer within the timeout (",
                     buf_.size(), " bytes received)"));
  }
  absl::Status Broken() const {
    return absl::UnavailableError(absl::StrCat(
        what_, ": connection closed before a complete answer (", buf_.size(),
        " bytes received); the request may or may not have been carried out"));
  }

  std::string& buf() { return buf_; }

 private:
  int fd_;
  absl::Time deadline_;
  std::string what_;
  std::string buf_;
  bool eof_ = false;
};

// Bytes of the answer quoted in an error: the peer may send anything.
std::string Shown(absl::string_view bytes) {
  return record::PrintableCut(bytes, 200);
}

absl::Status ParseHead(absl::string_view head, const std::string& what,
                       HttpResponse& out) {
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  absl::string_view status_line = lines[0];
  // "HTTP/1.1 204 " - micro_http sends no reason phrase.
  std::vector<absl::string_view> parts =
      absl::StrSplit(status_line, absl::MaxSplits(' ', 2));
  if (parts.size() < 2 || !absl::StartsWith(parts[0], "HTTP/1.") ||
      !absl::SimpleAtoi(parts[1], &out.status) || out.status < 100 ||
      out.status > 999) {
    return absl::InternalError(absl::StrCat(what, ": bad HTTP status line \"",
                                            Shown(status_line), "\""));
  }
  out.headers.clear();
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) {
      return absl::InternalError(absl::StrCat(what, ": bad HTTP header line \"",
                                              Shown(lines[i]), "\""));
    }
    out.headers.emplace_back(
        absl::AsciiStrToLower(lines[i].substr(0, colon)),
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
  }
  return absl::OkStatus();
}

absl::Status ReadChunked(Reader& r, size_t pos, const std::string& what,
                         std::string& body) {
  while (true) {
    ASSIGN_OR_RETURN(size_t eol, r.Find("\r\n", pos));
    absl::string_view size_line(r.buf().data() + pos, eol - pos);
    size_line = size_line.substr(0, size_line.find(';'));  // chunk extensions
    size_line = absl::StripAsciiWhitespace(size_line);
    uint64_t size = 0;
    if (size_line.empty() || size_line.size() > 15 ||
        !absl::SimpleHexAtoi(size_line, &size)) {
      return absl::InternalError(
          absl::StrCat(what, ": bad chunk size \"", Shown(size_line), "\""));
    }
    pos = eol + 2;
    if (size == 0) {
      // Trailer fields, then an empty line.
      while (true) {
        ASSIGN_OR_RETURN(size_t end, r.Find("\r\n", pos));
        bool empty = end == pos;
        pos = end + 2;
        if (empty) return absl::OkStatus();
      }
    }
    if (body.size() + size > kMaxResponse) {
      return absl::InternalError(absl::StrCat(what, ": body too large"));
    }
    RETURN_IF_ERROR(r.Need(pos + size + 2));
    body.append(r.buf(), pos, size);
    if (r.buf().compare(pos + size, 2, "\r\n") != 0) {
      return absl::InternalError(
          absl::StrCat(what, ": chunk not followed by CRLF"));
    }
    pos += size + 2;
  }
}

}  // namespace

std::optional<std::string> HttpResponse::Header(absl::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

namespace {
absl::StatusOr<HttpResponse> ReadResponse(Reader& r, const std::string& what);
}  // namespace

absl::StatusOr<HttpResponse> ParseHttpResponse(absl::string_view bytes,
                                               absl::string_view what) {
  std::string name(what);
  Reader r(bytes, name);
  return ReadResponse(r, name);
}

absl::StatusOr<HttpResponse> UnixHttpRequest(absl::string_view socket_path,
                                             absl::string_view method,
                                             absl::string_view target,
                                             absl::string_view body,
                                             absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  std::string what = absl::StrCat(method, " ", target, " on ", socket_path);
  absl::StatusOr<UniqueFd> connected =
      fs::ConnectUnix(socket_path, /*nonblocking=*/true);
  if (!connected.ok()) {
    if (absl::IsInvalidArgument(connected.status())) {
      return absl::InvalidArgumentError(
          absl::StrCat("API ", connected.status().message()));
    }
    return absl::UnavailableError(connected.status().message());
  }
  UniqueFd fd = *std::move(connected);

  std::string request = absl::StrCat(method, " ", target,
                                     " HTTP/1.1\r\nHost: localhost\r\n"
                                     "Accept: application/json\r\n");
  if (!body.empty()) {
    absl::StrAppend(&request,
                    "Content-Type: application/json\r\nContent-Length: ",
                    body.size(), "\r\n");
  }
  absl::StrAppend(&request, "\r\n", body);

  size_t sent = 0;
  absl::Status send_error;
  while (sent < request.size()) {
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent,
                       MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd p = {fd.get(), POLLOUT, 0};
      int r = ::poll(&p, 1, PollMillis(deadline));
      if (r < 0 && errno != EINTR) return ErrnoError(errno, "poll");
      if (r == 0) {
        return absl::DeadlineExceededError(absl::StrCat(
            what, ": could not send the request within the timeout"));
      }
      continue;
    }
    int err = errno;
    send_error = absl::UnavailableError(absl::StrCat(
        what, ": sending the request failed: ", strerror(err),
        sent == 0 ? "" : "; the request may or may not have been carried out"));
    break;
  }
  // A server may answer and close before it has read the whole request (a
  // body over its limit): its answer, when there is one, is the result.
  Reader reader(fd.get(), deadline, what);
  absl::StatusOr<HttpResponse> resp = ReadResponse(reader, what);
  if (!send_error.ok() && !resp.ok()) return send_error;
  return resp;
}

namespace {

absl::StatusOr<HttpResponse> ReadResponse(Reader& r, const std::string& what) {
  HttpResponse resp;
  size_t head_end;
  while (true) {
    ASSIGN_OR_RETURN(head_end, r.Find("\r\n\r\n"));
    RETURN_IF_ERROR(
        ParseHead(absl::string_view(r.buf()).substr(0, head_end), what, resp));
    if (resp.status >= 100 && resp.status < 200) {
      r.buf().erase(0, head_end + 4);  // interim answer, e.g. 100 Continue
      continue;
    }
    break;
  }
  size_t pos = head_end + 4;
  std::optional<std::string> te = resp.Header("transfer-encoding");
  std::optional<std::string> cl = resp.Header("content-length");
  if (te.has_value() &&
      absl::StrContains(absl::AsciiStrToLower(*te), "chunked")) {
    RETURN_IF_ERROR(ReadChunked(r, pos, what, resp.body));
  } else if (cl.has_value()) {
    uint64_t len = 0;
    if (!absl::SimpleAtoi(*cl, &len) || len > kMaxResponse) {
      return absl::InternalError(
          absl::StrCat(what, ": bad Content-Length \"", Shown(*cl), "\""));
    }
    RETURN_IF_ERROR(r.Need(pos + len));
    resp.body = r.buf().substr(pos, len);
  } else if (resp.status == 204 || resp.status == 304) {
    // No body by definition; micro_http sends no Content-Length with 204.
  } else {
    RETURN_IF_ERROR(r.ReadToEof());
    resp.body = r.buf().substr(pos);
  }
  return resp;
}

}  // namespace
}  // namespace chtools::chapi
