// HTTP/1.1 over the API unix socket the way CH's micro_http speaks it:
// GET/PUT/PATCH only, Content-Length bodies up to 51200 bytes, keep-alive,
// status lines without a reason phrase, 204 without Content-Length.
#ifndef CHTOOLS_INTEGRATION_SIM_HTTP_H_
#define CHTOOLS_INTEGRATION_SIM_HTTP_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "integration/sim/loop.h"
#include "lib/base/unique_fd.h"

namespace chtools::sim {

struct HttpRequest {
  std::string method;  // "GET", "PUT", "PATCH"
  std::string path;    // "/api/v1/vm.boot" (absolute-form prefix removed)
  std::string body;
  bool has_body = false;  // Content-Length > 0
};

struct HttpResponse {
  int status = 200;
  std::string body;
  // micro_http's own error replies carry "Server: Firecracker API".
  bool firecracker_server = false;
};

// Result of feeding bytes to ParseRequest.
struct ParseResult {
  enum Kind { kIncomplete, kRequest, kError } kind = kIncomplete;
  HttpRequest request;
  size_t consumed = 0;  // bytes of the buffer used by the request
  // kIncomplete with complete headers carrying "Expect: 100-continue".
  bool wants_continue = false;
  HttpResponse error;  // for kError (connection is then closed)
};

// Parses one request from the front of `buf` (pure).
ParseResult ParseRequest(absl::string_view buf);

// The wire form of `r` (pure).
std::string FormatResponse(const HttpResponse& r);

// Accepts connections on a listening socket and answers each request with
// `handler`, one at a time, on the loop thread.
class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  HttpServer(Loop* loop, UniqueFd listener, Handler handler);
  ~HttpServer();

 private:
  void OnAccept();
  void OnReadable(int fd);
  void Close(int fd);

  Loop* loop_;
  UniqueFd listener_;
  Handler handler_;
  struct Conn {
    UniqueFd fd;
    std::string buf;
    bool continue_sent = false;
  };
  std::map<int, Conn> conns_;
};

// Writes all of `data` to a (possibly non-blocking) socket, waiting with
// poll for room; false on error.
bool WriteAll(int fd, absl::string_view data);

}  // namespace chtools::sim

#endif  // CHTOOLS_INTEGRATION_SIM_HTTP_H_
