#include "lib/chapi/unix_http.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/chapi/fake_server.h"
#include "lib/testing/status_matchers.h"

namespace chtools::chapi {
namespace {

using ::chtools::chapi::testing::FakeServer;
using ::chtools::chapi::testing::SeenRequest;
using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;

class UnixHttpTest : public ::testing::Test {
 protected:
  void Serve(std::string raw_answer) {
    auto s = FakeServer::Start(sock_,
                               [raw_answer](int conn, const SeenRequest&, int) {
                                 FakeServer::WriteAll(conn, raw_answer);
                               });
    ASSERT_OK(s.status());
    server_ = *std::move(s);
  }
  absl::StatusOr<HttpResponse> Get(absl::Duration timeout = absl::Seconds(10)) {
    return UnixHttpRequest(sock_, "GET", "/api/v1/vm.info", "", timeout);
  }

  testing::SocketDir dir_;
  std::string sock_ = dir_.Join("api.sock");
  std::unique_ptr<FakeServer> server_;
};

TEST_F(UnixHttpTest, ContentLengthBodyAndHeaders) {
  Serve(FakeServer::ChResponse(200, "{\"a\":1}"));
  ASSERT_OK_AND_ASSIGN(HttpResponse r, Get());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"a\":1}");
  EXPECT_EQ(r.Header("server"), "Cloud Hypervisor API");
  EXPECT_EQ(r.Header("content-type"), "application/json");
}

TEST_F(UnixHttpTest, NoContentWithoutContentLength) {
  // micro_http's 204: no reason phrase, no Content-Length, connection kept.
  Serve(
      "HTTP/1.1 204 \r\nServer: Cloud Hypervisor API\r\nConnection: "
      "keep-alive\r\n\r\n");
  ASSERT_OK_AND_ASSIGN(HttpResponse r, Get(absl::Seconds(5)));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
}

TEST_F(UnixHttpTest, ChunkedBody) {
  Serve(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\n{\"st\r\n"
      "b;ext=1\r\nate\":\"Runni\r\n"
      "3\r\nng\"\r\n"
      "1\r\n}\r\n"
      "0\r\nX-Trailer: yes\r\n\r\n");
  ASSERT_OK_AND_ASSIGN(HttpResponse r, Get());
  EXPECT_EQ(r.body, "{\"state\":\"Running\"}");
}

TEST_F(UnixHttpTest, BadChunkIsInternal) {
  Serve(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
      "chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
  EXPECT_THAT(Get().status(), StatusIs(absl::StatusCode::kInternal,
                                       HasSubstr("bad chunk size")));
}

TEST_F(UnixHttpTest, InterimContinueIsSkipped) {
  Serve("HTTP/1.1 100 \r\n\r\n" + FakeServer::ChResponse(200, "[]"));
  ASSERT_OK_AND_ASSIGN(HttpResponse r, Get());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "[]");
}

TEST_F(UnixHttpTest, BodyUntilEof) {
  Serve("HTTP/1.1 200 OK\r\n\r\nplain body");
  ASSERT_OK_AND_ASSIGN(HttpResponse r, Get());
  EXPECT_EQ(r.body, "plain body");
}

TEST_F(UnixHttpTest, TruncatedBodyIsUnavailable) {
  Serve("HTTP/1.1 200 \r\nContent-Length: 100\r\n\r\nshort");
  EXPECT_THAT(
      Get().status(),
      StatusIs(absl::StatusCode::kUnavailable,
               HasSubstr("connection closed before a complete answer")));
}

TEST_F(UnixHttpTest, GarbageStatusLineIsInternal) {
  Serve("SSH-2.0-OpenSSH\r\n\r\n");
  EXPECT_THAT(Get().status(), StatusIs(absl::StatusCode::kInternal,
                                       HasSubstr("bad HTTP status line")));
}

TEST_F(UnixHttpTest, SendsRequestLineHostAndJsonBody) {
  Serve(FakeServer::ChResponse(204, ""));
  ASSERT_OK(UnixHttpRequest(sock_, "PUT", "/api/v1/vm.snapshot",
                            "{\"destination_url\":\"file:///s\"}",
                            absl::Seconds(5))
                .status());
  ASSERT_OK(
      UnixHttpRequest(sock_, "PUT", "/api/v1/vm.pause", "", absl::Seconds(5))
          .status());
  std::vector<SeenRequest> seen = server_->requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].request_line, "PUT /api/v1/vm.snapshot HTTP/1.1");
  EXPECT_THAT(seen[0].head, HasSubstr("\r\nHost: localhost"));
  EXPECT_THAT(seen[0].head, HasSubstr("\r\nContent-Type: application/json"));
  EXPECT_THAT(seen[0].head, HasSubstr("\r\nContent-Length: 31"));
  EXPECT_EQ(seen[0].body, "{\"destination_url\":\"file:///s\"}");
  // No body: no Content-Length, as CH's no-body actions want.
  EXPECT_EQ(seen[1].request_line, "PUT /api/v1/vm.pause HTTP/1.1");
  EXPECT_THAT(seen[1].head, ::testing::Not(HasSubstr("Content-Length")));
}

TEST_F(UnixHttpTest, ServerThatNeverAnswersTimesOut) {
  auto s = FakeServer::Start(sock_, [](int, const SeenRequest&, int stop_fd) {
    struct pollfd p = {stop_fd, POLLIN, 0};
    ::poll(&p, 1, -1);
  });
  ASSERT_OK(s.status());
  absl::Time start = absl::Now();
  EXPECT_THAT(Get(absl::Milliseconds(300)).status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("no complete answer within the timeout")));
  absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(300));
  EXPECT_LT(took, absl::Seconds(5));
}

TEST_F(UnixHttpTest, MissingSocketIsUnavailable) {
  EXPECT_THAT(Get().status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       "connect " + sock_ + ": No such file or directory"));
}

TEST_F(UnixHttpTest, StaleSocketFileIsUnavailable) {
  // What SIGKILLed CH leaves behind: the file, nobody listening.
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, sock_.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
  EXPECT_THAT(Get().status(), StatusIs(absl::StatusCode::kUnavailable,
                                       HasSubstr("Connection refused")));
}

TEST_F(UnixHttpTest, PathTooLongIsInvalidArgument) {
  std::string long_path = "/" + std::string(120, 'a') + "/api.sock";
  EXPECT_THAT(
      UnixHttpRequest(long_path, "GET", "/", "", absl::Seconds(1)).status(),
      StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(UnixHttpTest, ServerKilledMidCallIsUnavailable) {
  // A server process that reads the request, sends half an answer and is
  // SIGKILLed: the kernel closes its end.
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, sock_.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int c = accept(fd, nullptr, nullptr);
    char buf[4096];
    ssize_t n = read(c, buf, sizeof(buf));
    (void)n;
    const char half[] = "HTTP/1.1 200 \r\nContent-Length: 50\r\n\r\n{\"con";
    ssize_t w = write(c, half, sizeof(half) - 1);
    (void)w;
    raise(SIGKILL);
    _exit(1);
  }
  close(fd);
  absl::StatusOr<HttpResponse> r = Get(absl::Seconds(20));
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_THAT(r.status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("may or may not have been carried out")));
}

// The socket-free parser reads what UnixHttpRequest reads from a peer that
// sends the bytes and closes.
TEST(ParseHttpResponseTest, SameAnswersAsTheSocket) {
  auto r = ParseHttpResponse(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
      "Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\n"
      "Trailer: 1\r\n\r\n",
      "fixture");
  ASSERT_OK(r.status());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "abc");
  r = ParseHttpResponse("HTTP/1.1 204 \r\n\r\n", "fixture");
  ASSERT_OK(r.status());
  EXPECT_EQ(r->status, 204);
  r = ParseHttpResponse("HTTP/1.1 500 \r\nContent-Length: 2\r\n\r\nok", "f");
  ASSERT_OK(r.status());
  EXPECT_EQ(r->body, "ok");
  r = ParseHttpResponse("HTTP/1.1 200 \r\n\r\nto eof", "f");
  ASSERT_OK(r.status());
  EXPECT_EQ(r->body, "to eof");
  EXPECT_THAT(ParseHttpResponse("HTTP/1.1 200 \r\nContent-Length: 9\r\n\r\nok",
                                "fixture")
                  .status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("fixture: connection closed")));
  EXPECT_THAT(ParseHttpResponse("SSH-2.0\r\n\r\n", "fixture").status(),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("fixture: bad HTTP status line \"SSH-2.0\"")));
  EXPECT_THAT(
      ParseHttpResponse("HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\n"
                        "zz\r\n",
                        "fixture")
          .status(),
      StatusIs(absl::StatusCode::kInternal,
               HasSubstr("bad chunk size \"zz\"")));
}

}  // namespace
}  // namespace chtools::chapi
