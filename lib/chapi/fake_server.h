// FakeServer (testonly): a unix-socket HTTP server on a thread whose answers
// a test scripts per request, for exercising lib/chapi without CH.
#ifndef CHTOOLS_LIB_CHAPI_FAKE_SERVER_H_
#define CHTOOLS_LIB_CHAPI_FAKE_SERVER_H_

#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/base/unique_fd.h"

namespace chtools::chapi::testing {

// One parsed request as the server saw it.
struct SeenRequest {
  std::string request_line;  // "PUT /api/v1/vm.pause HTTP/1.1"
  std::string head;          // request line and headers
  std::string body;
};

class FakeServer {
 public:
  // Writes the answer on `conn` (or not); the connection is closed after.
  // `stop_fd` becomes readable when the server is being stopped, so a
  // handler that never answers can wait on it.
  using Handler =
      std::function<void(int conn, const SeenRequest& req, int stop_fd)>;

  // Listens on `path` and serves each connection on a background thread.
  static absl::StatusOr<std::unique_ptr<FakeServer>> Start(std::string path,
                                                           Handler handler);
  ~FakeServer();  // stops the thread and unlinks the socket

  std::vector<SeenRequest> requests() const;

  // micro_http's wire form: "HTTP/1.1 <code> " (no reason phrase), Server and
  // Connection headers, Content-Type/Length on everything but 204.
  static std::string ChResponse(int status, absl::string_view body);
  static void WriteAll(int fd, absl::string_view data);

 private:
  FakeServer(std::string path, Handler handler, UniqueFd listen_fd,
             UniqueFd stop_r, UniqueFd stop_w);
  void Serve();

  std::string path_;
  Handler handler_;
  UniqueFd listen_fd_, stop_r_, stop_w_;
  mutable std::mutex mu_;
  std::vector<SeenRequest> requests_;
  std::thread thread_;
};

// A fresh directory under /tmp, removed with its contents at destruction:
// $TEST_TMPDIR paths are too long for a unix socket's sun_path (108 bytes).
class SocketDir {
 public:
  SocketDir();  // aborts if mkdtemp fails
  ~SocketDir();
  SocketDir(const SocketDir&) = delete;
  SocketDir& operator=(const SocketDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Join(absl::string_view name) const;

 private:
  std::string path_;
};

// Loads testdata/chapi/<name>.json: {"status": int, "body": string}.
struct Recorded {
  int status = 0;
  std::string body;
};
Recorded LoadRecorded(absl::string_view name);

}  // namespace chtools::chapi::testing

#endif  // CHTOOLS_LIB_CHAPI_FAKE_SERVER_H_
