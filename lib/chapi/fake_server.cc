#include "lib/chapi/fake_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/base/errno.h"
#include "nlohmann/json.hpp"

namespace chtools::chapi::testing {

absl::StatusOr<std::unique_ptr<FakeServer>> FakeServer::Start(std::string path,
                                                              Handler handler) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoError(errno, "socket");
  struct sockaddr_un addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError("socket path too long: " + path);
  }
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoError(errno, "bind", path);
  }
  if (::listen(fd.get(), 16) != 0) return ErrnoError(errno, "listen", path);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe2");
  std::unique_ptr<FakeServer> s(
      new FakeServer(std::move(path), std::move(handler), std::move(fd),
                     UniqueFd(p[0]), UniqueFd(p[1])));
  s->thread_ = std::thread([raw = s.get()] { raw->Serve(); });
  return s;
}

FakeServer::FakeServer(std::string path, Handler handler, UniqueFd listen_fd,
                       UniqueFd stop_r, UniqueFd stop_w)
    : path_(std::move(path)),
      handler_(std::move(handler)),
      listen_fd_(std::move(listen_fd)),
      stop_r_(std::move(stop_r)),
      stop_w_(std::move(stop_w)) {}

FakeServer::~FakeServer() {
  stop_w_.reset();  // EOF on stop_r_: readable
  if (thread_.joinable()) thread_.join();
  ::unlink(path_.c_str());
}

std::vector<SeenRequest> FakeServer::requests() const {
  std::lock_guard<std::mutex> l(mu_);
  return requests_;
}

void FakeServer::WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

std::string FakeServer::ChResponse(int status, absl::string_view body) {
  std::string out = absl::StrCat("HTTP/1.1 ", status,
                                 " \r\nServer: Cloud Hypervisor API\r\n"
                                 "Connection: keep-alive\r\n");
  if (status != 204) {
    absl::StrAppend(&out, "Content-Type: application/json\r\nContent-Length: ",
                    body.size(), "\r\n");
  }
  absl::StrAppend(&out, "\r\n", status == 204 ? "" : body);
  return out;
}

void FakeServer::Serve() {
  while (true) {
    struct pollfd p[2] = {{listen_fd_.get(), POLLIN, 0},
                          {stop_r_.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) continue;
    if (p[1].revents != 0) return;
    UniqueFd conn(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) continue;
    std::string buf;
    size_t head_end = std::string::npos;
    size_t want = 0;
    char chunk[4096];
    while (true) {
      if (head_end == std::string::npos) {
        head_end = buf.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          want = head_end + 4;
          for (absl::string_view line :
               absl::StrSplit(buf.substr(0, head_end), "\r\n")) {
            std::string lower = absl::AsciiStrToLower(line);
            if (absl::StartsWith(lower, "content-length:")) {
              size_t n = 0;
              if (absl::SimpleAtoi(absl::StripAsciiWhitespace(lower.substr(15)),
                                   &n))
                want += n;
            }
          }
        }
      }
      if (head_end != std::string::npos && buf.size() >= want) break;
      ssize_t n = ::read(conn.get(), chunk, sizeof(chunk));
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
    }
    if (head_end == std::string::npos) continue;
    SeenRequest req;
    req.head = buf.substr(0, head_end);
    req.request_line = req.head.substr(0, req.head.find("\r\n"));
    req.body = buf.substr(head_end + 4);
    {
      std::lock_guard<std::mutex> l(mu_);
      requests_.push_back(req);
    }
    handler_(conn.get(), req, stop_r_.get());
  }
}

SocketDir::SocketDir() {
  char templ[] = "/tmp/chapi.XXXXXX";
  if (::mkdtemp(templ) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  path_ = templ;
}

SocketDir::~SocketDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string SocketDir::Join(absl::string_view name) const {
  return absl::StrCat(path_, "/", name);
}

Recorded LoadRecorded(absl::string_view name) {
  std::string path = absl::StrCat("testdata/chapi/", name, ".json");
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (!j.is_object() || !j.contains("status") || !j.contains("body")) {
    std::fprintf(stderr, "bad or missing test data file %s\n", path.c_str());
    std::abort();
  }
  return Recorded{j["status"].get<int>(), j["body"].get<std::string>()};
}

}  // namespace chtools::chapi::testing
