// Fuzz target: the HTTP/1.1 response parser of unix_http.h, without the
// socket (ParseHttpResponse), fed whatever a CH process could write to its
// API socket. Never crashes; a parsed answer has a final status and a body no
// longer than the input.
#include <cstddef>
#include <cstdint>

#include "lib/chapi/unix_http.h"
#include "lib/testing/fuzz/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<chtools::chapi::HttpResponse> r =
      chtools::chapi::ParseHttpResponse(bytes, "<fuzz>");
  if (!r.ok()) {
    FUZZ_CHECK(r.status().message().find("<fuzz>") != absl::string_view::npos,
               "error does not name the source: ", r.status().ToString());
    return 0;
  }
  FUZZ_CHECK(r->status >= 200 && r->status <= 999, "status ", r->status);
  FUZZ_CHECK(r->body.size() <= size, "body of ", r->body.size(), " bytes from ",
             size, " bytes of input");
  return 0;
}
