// micro_http emulation; see http.h.
#include "integration/sim/http.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace chtools::sim {
namespace {

constexpr size_t kMaxBody = 51200;
constexpr size_t kMaxLine = 1024;

ParseResult Error(int status, std::string body, bool firecracker) {
  ParseResult r;
  r.kind = ParseResult::kError;
  r.error.status = status;
  r.error.body = std::move(body);
  r.error.firecracker_server = firecracker;
  return r;
}

ParseResult BadRequest(absl::string_view what) {
  return Error(
      400,
      absl::StrCat("{ \"error\": \"", what,
                   "\\nAll previous unanswered requests will be dropped.\" }"),
      true);
}

}  // namespace

ParseResult ParseRequest(absl::string_view buf) {
  size_t end = buf.find("\r\n\r\n");
  if (end == absl::string_view::npos) {
    if (buf.size() > 64 * kMaxLine) return BadRequest("Header too long");
    return ParseResult{};
  }
  std::vector<absl::string_view> lines =
      absl::StrSplit(buf.substr(0, end), "\r\n");
  for (absl::string_view l : lines) {
    if (l.size() > kMaxLine) return BadRequest("Invalid request line");
  }
  std::vector<absl::string_view> rl = absl::StrSplit(lines[0], ' ');
  if (rl.size() != 3 || !absl::StartsWith(rl[2], "HTTP/1.")) {
    return BadRequest("Invalid request line");
  }
  if (rl[0] != "GET" && rl[0] != "PUT" && rl[0] != "PATCH") {
    return BadRequest(absl::StrCat("Invalid HTTP Method: ", rl[0]));
  }
  HttpRequest req;
  req.method = std::string(rl[0]);
  absl::string_view uri = rl[1];
  absl::ConsumePrefix(&uri, "http://localhost");
  req.path = std::string(uri);
  size_t content_length = 0;
  bool expect_continue = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(lines[i], absl::MaxSplits(':', 1));
    std::string name =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(kv.first));
    absl::string_view value = absl::StripAsciiWhitespace(kv.second);
    if (name == "content-length") {
      if (!absl::SimpleAtoi(value, &content_length)) {
        return BadRequest("Invalid value for Content-Length");
      }
    } else if (name == "expect" &&
               absl::AsciiStrToLower(value) == "100-continue") {
      expect_continue = true;
    } else if (name == "transfer-encoding" &&
               absl::AsciiStrToLower(value) == "chunked") {
      return BadRequest("Transfer-Encoding is not supported");
    }
  }
  if (content_length > kMaxBody) {
    return BadRequest("Request payload with size exceeding the limit");
  }
  size_t total = end + 4 + content_length;
  if (buf.size() < total) {
    ParseResult r;
    r.wants_continue = expect_continue;
    return r;
  }
  req.body = std::string(buf.substr(end + 4, content_length));
  req.has_body = content_length > 0;
  ParseResult r;
  r.kind = ParseResult::kRequest;
  r.request = std::move(req);
  r.consumed = total;
  return r;
}

std::string FormatResponse(const HttpResponse& r) {
  std::string out = absl::StrCat(
      "HTTP/1.1 ", r.status, " \r\nServer: ",
      r.firecracker_server ? "Firecracker API" : "Cloud Hypervisor API",
      "\r\nConnection: keep-alive\r\n");
  if (r.status != 204 && r.status != 100) {
    absl::StrAppend(&out, "Content-Type: application/json\r\nContent-Length: ",
                    r.body.size(), "\r\n");
  }
  absl::StrAppend(&out, "\r\n");
  if (r.status != 204 && r.status != 100) absl::StrAppend(&out, r.body);
  return out;
}

bool WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        poll(&p, 1, 5000);
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

HttpServer::HttpServer(Loop* loop, UniqueFd listener, Handler handler)
    : loop_(loop),
      listener_(std::move(listener)),
      handler_(std::move(handler)) {
  loop_->Watch(listener_.get(), POLLIN, [this](short) { OnAccept(); });
}

HttpServer::~HttpServer() {
  loop_->Unwatch(listener_.get());
  for (auto& [fd, c] : conns_) loop_->Unwatch(fd);
}

void HttpServer::OnAccept() {
  int fd =
      accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  conns_[fd] = Conn{UniqueFd(fd), std::string(), false};
  loop_->Watch(fd, POLLIN, [this, fd](short) { OnReadable(fd); });
}

void HttpServer::Close(int fd) {
  loop_->Unwatch(fd);
  conns_.erase(fd);
}

void HttpServer::OnReadable(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  char buf[16384];
  ssize_t n = read(fd, buf, sizeof(buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    Close(fd);
    return;
  }
  it->second.buf.append(buf, static_cast<size_t>(n));
  while (true) {
    it = conns_.find(fd);
    if (it == conns_.end()) return;
    ParseResult r = ParseRequest(it->second.buf);
    if (r.kind == ParseResult::kIncomplete) {
      if (r.wants_continue && !it->second.continue_sent) {
        it->second.continue_sent = true;
        WriteAll(fd, FormatResponse(HttpResponse{100, ""}));
      }
      return;
    }
    if (r.kind == ParseResult::kError) {
      WriteAll(fd, FormatResponse(r.error));
      Close(fd);
      return;
    }
    it->second.buf.erase(0, r.consumed);
    it->second.continue_sent = false;
    HttpResponse resp = handler_(r.request);
    // The handler may have ended the process loop; the answer still goes out.
    if (!WriteAll(fd, FormatResponse(resp))) {
      Close(fd);
      return;
    }
  }
}

}  // namespace chtools::sim
