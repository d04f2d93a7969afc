// HTTP/1.1 over an AF_UNIX stream socket: one request per connection, with an
// overall deadline. Enough of HTTP for Cloud Hypervisor's micro_http server.
#ifndef CHTOOLS_LIB_CHAPI_UNIX_HTTP_H_
#define CHTOOLS_LIB_CHAPI_UNIX_HTTP_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace chtools::chapi {

struct HttpResponse {
  int status = 0;
  // Header names lowercased, values trimmed, in arrival order.
  std::vector<std::pair<std::string, std::string>> headers;
  // The body with any chunked transfer coding removed.
  std::string body;

  // The first header named `name` (lowercase), if any.
  std::optional<std::string> Header(absl::string_view name) const;
};

// Connects to `socket_path`, sends `method target` (with Host: localhost,
// and `body` as application/json when non-empty) and reads the whole
// response: Content-Length, chunked, or read-to-EOF bodies; interim 100
// answers are skipped. All of it must finish within `timeout`.
// Errors: InvalidArgument (path too long for sun_path); Unavailable when the
// socket refuses or is missing (request not sent) or the connection breaks
// (then the request may or may not have been acted on; the message says so);
// DeadlineExceeded on timeout; Internal for a malformed response.
absl::StatusOr<HttpResponse> UnixHttpRequest(absl::string_view socket_path,
                                             absl::string_view method,
                                             absl::string_view target,
                                             absl::string_view body,
                                             absl::Duration timeout);

// Parses `bytes` as one complete HTTP/1.1 response, as UnixHttpRequest does
// when the peer sent exactly these bytes and closed; `what` names the source
// in errors. The parser without the socket, for tests and the fuzzer
// (http_response_fuzzer.cc). Errors as UnixHttpRequest's (Unavailable for a
// truncated answer, Internal for a malformed one).
absl::StatusOr<HttpResponse> ParseHttpResponse(absl::string_view bytes,
                                               absl::string_view what);

}  // namespace chtools::chapi

#endif  // CHTOOLS_LIB_CHAPI_UNIX_HTTP_H_
