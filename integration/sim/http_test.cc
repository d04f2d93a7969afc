// Tests of the micro_http-style request parser and response format.
#include "integration/sim/http.h"

#include "gtest/gtest.h"

namespace chtools::sim {
namespace {

TEST(HttpTest, ParsesPutWithBodyAndAbsoluteForm) {
  std::string req =
      "PUT http://localhost/api/v1/vm.snapshot HTTP/1.1\r\nHost: localhost\r\n"
      "Content-Length: 7\r\n\r\n{\"a\":1}extra";
  ParseResult r = ParseRequest(req);
  ASSERT_EQ(r.kind, ParseResult::kRequest);
  EXPECT_EQ(r.request.method, "PUT");
  EXPECT_EQ(r.request.path, "/api/v1/vm.snapshot");
  EXPECT_EQ(r.request.body, "{\"a\":1}");
  EXPECT_TRUE(r.request.has_body);
  EXPECT_EQ(r.consumed, req.size() - 5);
}

TEST(HttpTest, IncompleteUntilBodyArrives) {
  EXPECT_EQ(ParseRequest("GET /api/v1/vmm.ping HTTP/1.1\r\n").kind,
            ParseResult::kIncomplete);
  EXPECT_EQ(ParseRequest("PUT /x HTTP/1.1\r\nContent-Length: 4\r\n\r\n{}").kind,
            ParseResult::kIncomplete);
}

TEST(HttpTest, ExpectContinueIsReportedWhileTheBodyIsMissing) {
  ParseResult r = ParseRequest(
      "PUT /api/v1/vm.create HTTP/1.1\r\nExpect: 100-continue\r\n"
      "Content-Length: 2\r\n\r\n");
  EXPECT_EQ(r.kind, ParseResult::kIncomplete);
  EXPECT_TRUE(r.wants_continue);
  EXPECT_EQ(FormatResponse(HttpResponse{100, ""}),
            "HTTP/1.1 100 \r\nServer: Cloud Hypervisor API\r\nConnection: "
            "keep-alive\r\n\r\n");
}

TEST(HttpTest, ZeroContentLengthIsNoBody) {
  ParseResult r =
      ParseRequest("PUT /api/v1/vm.boot HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(r.kind, ParseResult::kRequest);
  EXPECT_FALSE(r.request.has_body);
}

TEST(HttpTest, UnknownMethodIsAFirecrackerError) {
  ParseResult r = ParseRequest("POST /api/v1/vm.boot HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.kind, ParseResult::kError);
  EXPECT_EQ(r.error.status, 400);
  EXPECT_TRUE(r.error.firecracker_server);
  EXPECT_EQ(
      r.error.body,
      "{ \"error\": \"Invalid HTTP Method: POST\\nAll previous unanswered "
      "requests will be dropped.\" }");
}

TEST(HttpTest, BodyLimit) {
  ParseResult r =
      ParseRequest("PUT /x HTTP/1.1\r\nContent-Length: 51201\r\n\r\n");
  EXPECT_EQ(r.kind, ParseResult::kError);
}

TEST(HttpTest, ResponseFormat) {
  EXPECT_EQ(FormatResponse(HttpResponse{204, ""}),
            "HTTP/1.1 204 \r\nServer: Cloud Hypervisor API\r\nConnection: "
            "keep-alive\r\n\r\n");
  EXPECT_EQ(FormatResponse(HttpResponse{200, ""}),
            "HTTP/1.1 200 \r\nServer: Cloud Hypervisor API\r\nConnection: "
            "keep-alive\r\n"
            "Content-Type: application/json\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(
      FormatResponse(HttpResponse{500, "[\"x\"]"}),
      "HTTP/1.1 500 \r\nServer: Cloud Hypervisor API\r\nConnection: "
      "keep-alive\r\n"
      "Content-Type: application/json\r\nContent-Length: 5\r\n\r\n[\"x\"]");
}

}  // namespace
}  // namespace chtools::sim
