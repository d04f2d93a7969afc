#include "lib/chapi/client.h"

#include <poll.h>

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/chapi/fake_server.h"
#include "lib/testing/status_matchers.h"

namespace chtools::chapi {
namespace {

using ::chtools::chapi::testing::FakeServer;
using ::chtools::chapi::testing::LoadRecorded;
using ::chtools::chapi::testing::Recorded;
using ::chtools::chapi::testing::SeenRequest;
using ::chtools::testing::IsOk;
using ::chtools::testing::StatusIs;
using ::nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Answers every request with the recorded answer named in `by_path`
// ("/api/v1/vm.pause" -> "vm_pause_already_paused"); 204 otherwise.
class ClientTest : public ::testing::Test {
 protected:
  void Serve(std::map<std::string, std::string> by_path) {
    auto s = FakeServer::Start(
        sock_, [by_path](int conn, const SeenRequest& req, int) {
          std::string path =
              req.request_line.substr(req.request_line.find(' ') + 1);
          path = path.substr(0, path.find(' '));
          auto it = by_path.find(path);
          if (it == by_path.end()) {
            FakeServer::WriteAll(conn, FakeServer::ChResponse(204, ""));
            return;
          }
          Recorded r = LoadRecorded(it->second);
          FakeServer::WriteAll(conn, FakeServer::ChResponse(r.status, r.body));
        });
    ASSERT_OK(s.status());
    server_ = *std::move(s);
  }
  void ServeNeverAnswering() {
    auto s = FakeServer::Start(sock_, [](int, const SeenRequest&, int stop_fd) {
      struct pollfd p = {stop_fd, POLLIN, 0};
      ::poll(&p, 1, -1);
    });
    ASSERT_OK(s.status());
    server_ = *std::move(s);
  }
  size_t Count(const std::string& request_line) {
    size_t n = 0;
    for (const SeenRequest& r : server_->requests())
      n += r.request_line == request_line;
    return n;
  }

  testing::SocketDir dir_;
  std::string sock_ = dir_.Join("api.sock");
  std::unique_ptr<FakeServer> server_;
};

TEST_F(ClientTest, InfoParsesTheRecordedBody) {
  Serve({{"/api/v1/vm.info", "vm_info_running"}});
  Client client(sock_);
  ASSERT_OK_AND_ASSIGN(json info, client.Info());
  EXPECT_EQ(info["state"], "Running");
  EXPECT_EQ(info["config"]["serial"]["file"], "/dev/pts/3");
  EXPECT_EQ(info["config"]["disks"][0]["id"], "_disk0");
  EXPECT_EQ(info["config"]["net"][0]["id"], "_net1");
  EXPECT_EQ(info["memory_actual_size"], 1073741824);
  EXPECT_EQ(info["device_tree"]["_virtio-pci-_disk0"]["pci_bdf"],
            "0000:00:01.0");
}

TEST_F(ClientTest, PingAndCounters) {
  Serve({{"/api/v1/vmm.ping", "vmm_ping"},
         {"/api/v1/vm.counters", "vm_counters"}});
  Client client(sock_);
  EXPECT_OK(client.Ping());
  ASSERT_OK_AND_ASSIGN(json ping, client.VmmPing());
  EXPECT_EQ(ping["pid"], 4242);
  EXPECT_EQ(ping["version"], "51.0.0");
  ASSERT_OK_AND_ASSIGN(json counters, client.Counters());
  EXPECT_EQ(counters["_net1"]["rx_frames"], 0);
}

TEST_F(ClientTest, ErrorCarriesChErrorChain) {
  Serve({{"/api/v1/vm.info", "vm_info_not_created"}});
  Client client(sock_);
  absl::Status s = client.Info().status();
  EXPECT_THAT(s,
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "vm.info: HTTP 500: Error from API: The VM info is not "
                       "available: VM is not created"));
  std::optional<ChError> e = GetChError(s);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->endpoint, "vm.info");
  EXPECT_EQ(e->http_status, 500);
  EXPECT_THAT(e->chain,
              ElementsAre("Error from API", "The VM info is not available",
                          "VM is not created"));
  EXPECT_TRUE(IsVmNotCreated(s));
  EXPECT_FALSE(GetChError(absl::UnavailableError("x")).has_value());
  EXPECT_FALSE(IsVmNotCreated(absl::OkStatus()));
}

TEST_F(ClientTest, StatusCodeMapping) {
  Serve({{"/api/v1/vm.add-disk", "vm_add_disk_not_unique"},
         {"/api/v1/vm.resize", "vm_resize_pending"},
         {"/api/v1/vm.create", "vm_create_already_created"}});
  Client client(sock_);
  EXPECT_THAT(
      client.AddDisk(json{{"path", "/x"}, {"id", "foo"}}).status(),
      StatusIs(absl::StatusCode::kUnknown,
               HasSubstr("vm.add-disk: HTTP 500: Error from API: The disk "
                         "could not be added to the VM: Failed to validate "
                         "config: Identifier foo is not unique")));
  EXPECT_THAT(client.Resize(2, std::nullopt),
              StatusIs(absl::StatusCode::kUnavailable,
                       "vm.resize: HTTP 429: Too Many Requests"));
  absl::Status created =
      client.Create(json{{"cpus", {{"boot_vcpus", 1}, {"max_vcpus", 1}}}});
  EXPECT_THAT(created, StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr("VM is already created")));
  EXPECT_FALSE(IsVmNotCreated(created));
}

TEST(ChErrorStatusTest, OtherBodies) {
  Recorded bad_method = LoadRecorded("bad_method");
  absl::Status s =
      ChErrorStatus("vm.pause", bad_method.status, bad_method.body);
  EXPECT_THAT(
      s, StatusIs(absl::StatusCode::kInvalidArgument,
                  HasSubstr("vm.pause: HTTP 400: Invalid HTTP Method: POST")));
  Recorded unknown = LoadRecorded("unknown_path");
  s = ChErrorStatus("vm.frobnicate", unknown.status, unknown.body);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound,
                          "vm.frobnicate: HTTP 404: Not Found"));
  // v53 says "not created" with a 404.
  EXPECT_TRUE(
      IsVmNotCreated(ChErrorStatus("vm.info", 404, "[\"Error from API\"]")));
  EXPECT_THAT(
      ChErrorStatus("vm.create", 400, ""),
      StatusIs(absl::StatusCode::kInvalidArgument, "vm.create: HTTP 400"));
  EXPECT_THAT(
      ChErrorStatus("vm.boot", 500, "not json"),
      StatusIs(absl::StatusCode::kUnknown, "vm.boot: HTTP 500: not json"));
}

TEST_F(ClientTest, PauseAlreadyPausedIsSuccess) {
  Serve({{"/api/v1/vm.pause", "vm_pause_already_paused"},
         {"/api/v1/vm.resume", "vm_resume_already_running"}});
  Client client(sock_);
  EXPECT_OK(client.Pause());
  EXPECT_OK(client.Resume());
}

TEST_F(ClientTest, PauseWithoutVmIsAnError) {
  Serve({{"/api/v1/vm.pause", "vm_pause_not_running"},
         {"/api/v1/vm.resume", "vm_resume_not_running"},
         {"/api/v1/vm.boot", "vm_boot_running"}});
  Client client(sock_);
  EXPECT_THAT(
      client.Pause(),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               "vm.pause: HTTP 500: Error from API: The VM could not be "
               "paused: VM is not running"));
  EXPECT_THAT(client.Resume(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                        HasSubstr("The VM could not resume")));
  // Only pause/resume get the "already there" leniency.
  EXPECT_THAT(client.Boot(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                      HasSubstr("Running to Running")));
}

TEST_F(ClientTest, RequestsAndBodies) {
  Serve({{"/api/v1/vm.add-disk", "vm_add_disk_running"},
         {"/api/v1/vmm.shutdown", "vmm_shutdown"}});
  Client client(sock_);
  ASSERT_OK_AND_ASSIGN(json dev, client.AddDisk(json{{"path", "/c/cidata.img"},
                                                     {"readonly", true}}));
  EXPECT_EQ(dev, json({{"id", "_disk2"}, {"bdf", "0000:00:04.0"}}));
  // 204 (config-only VM): no id yet.
  ASSERT_OK_AND_ASSIGN(json none, client.AddNet(json{{"tap", "tap0"}}));
  EXPECT_TRUE(none.is_null());
  EXPECT_OK(client.Snapshot("file:///snap/dir"));
  EXPECT_OK(client.Restore("file:///snap/dir"));
  EXPECT_OK(client.Restore("file:///snap/dir", /*prefault=*/true));
  EXPECT_OK(client.RemoveDevice("_net1"));
  EXPECT_OK(client.Resize(4, int64_t{2} << 30));
  EXPECT_OK(client.Resize(std::nullopt, std::nullopt));
  EXPECT_OK(client.Boot());
  EXPECT_OK(client.Shutdown());
  EXPECT_OK(client.Reboot());
  EXPECT_OK(client.PowerButton());
  EXPECT_OK(client.Delete());
  EXPECT_OK(client.ShutdownVmm());  // 200 with an empty body
  EXPECT_THAT(client.AddDisk(json::array()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));

  std::vector<std::pair<std::string, std::string>> got;
  for (const SeenRequest& r : server_->requests())
    got.emplace_back(r.request_line, r.body);
  std::vector<std::pair<std::string, std::string>> want = {
      {"PUT /api/v1/vm.add-disk HTTP/1.1",
       R"({"path":"/c/cidata.img","readonly":true})"},
      {"PUT /api/v1/vm.add-net HTTP/1.1", R"({"tap":"tap0"})"},
      {"PUT /api/v1/vm.snapshot HTTP/1.1",
       R"({"destination_url":"file:///snap/dir"})"},
      {"PUT /api/v1/vm.restore HTTP/1.1",
       R"({"source_url":"file:///snap/dir"})"},
      {"PUT /api/v1/vm.restore HTTP/1.1",
       R"({"prefault":true,"source_url":"file:///snap/dir"})"},
      {"PUT /api/v1/vm.remove-device HTTP/1.1", R"({"id":"_net1"})"},
      {"PUT /api/v1/vm.resize HTTP/1.1",
       R"({"desired_ram":2147483648,"desired_vcpus":4})"},
      {"PUT /api/v1/vm.resize HTTP/1.1", "{}"},
      {"PUT /api/v1/vm.boot HTTP/1.1", ""},
      {"PUT /api/v1/vm.shutdown HTTP/1.1", ""},
      {"PUT /api/v1/vm.reboot HTTP/1.1", ""},
      {"PUT /api/v1/vm.power-button HTTP/1.1", ""},
      {"PUT /api/v1/vm.delete HTTP/1.1", ""},
      {"PUT /api/v1/vmm.shutdown HTTP/1.1", ""},
  };
  EXPECT_EQ(got, want);
}

TEST_F(ClientTest, NonIdempotentCallsAreSentOnce) {
  Serve({{"/api/v1/vm.snapshot", "vm_snapshot_file_exists"},
         {"/api/v1/vm.restore", "vm_restore_already_created"},
         {"/api/v1/vm.add-disk", "vm_add_disk_not_unique"},
         {"/api/v1/vm.add-net", "vm_add_disk_not_unique"},
         {"/api/v1/vm.remove-device", "vm_remove_device_unknown"}});
  Client client(sock_);
  EXPECT_THAT(client.Snapshot("file:///s"),
              StatusIs(absl::StatusCode::kUnknown,
                       HasSubstr("File exists (os error 17)")));
  EXPECT_THAT(client.Restore("file:///s"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("VM is already created")));
  EXPECT_FALSE(client.AddDisk(json{{"path", "/x"}}).ok());
  EXPECT_FALSE(client.AddNet(json{{"tap", "t"}}).ok());
  EXPECT_THAT(
      client.RemoveDevice("nope"),
      StatusIs(
          absl::StatusCode::kUnknown,
          HasSubstr(
              "Failed to find device corresponding to the given identifier")));
  EXPECT_EQ(Count("PUT /api/v1/vm.snapshot HTTP/1.1"), 1u);
  EXPECT_EQ(Count("PUT /api/v1/vm.restore HTTP/1.1"), 1u);
  EXPECT_EQ(Count("PUT /api/v1/vm.add-disk HTTP/1.1"), 1u);
  EXPECT_EQ(Count("PUT /api/v1/vm.add-net HTTP/1.1"), 1u);
  EXPECT_EQ(Count("PUT /api/v1/vm.remove-device HTTP/1.1"), 1u);
}

TEST_F(ClientTest, BrokenConnectionIsNotRetried) {
  auto s =
      FakeServer::Start(sock_, [](int, const SeenRequest&, int) {});  // hang up
  ASSERT_OK(s.status());
  server_ = *std::move(s);
  Client client(sock_);
  EXPECT_THAT(client.Snapshot("file:///s"),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("may or may not have been carried out")));
  EXPECT_THAT(client.AddNet(json{{"tap", "t"}}).status(),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(Count("PUT /api/v1/vm.snapshot HTTP/1.1"), 1u);
  EXPECT_EQ(Count("PUT /api/v1/vm.add-net HTTP/1.1"), 1u);
}

TEST_F(ClientTest, TimeoutIsDeadlineExceeded) {
  ServeNeverAnswering();
  Client client(sock_, absl::Milliseconds(200));
  absl::Time start = absl::Now();
  EXPECT_THAT(client.Pause(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  client.set_long_timeout(absl::Milliseconds(300));
  start = absl::Now();
  EXPECT_THAT(client.Snapshot("file:///s"),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
}

TEST_F(ClientTest, SnapshotAndRestoreGetTheLongTimeout) {
  // Answers after 600 ms: too slow for a 200 ms call, fine for a snapshot.
  auto s =
      FakeServer::Start(sock_, [](int conn, const SeenRequest&, int stop_fd) {
        struct pollfd p = {stop_fd, POLLIN, 0};
        ::poll(&p, 1, 600);
        FakeServer::WriteAll(conn, FakeServer::ChResponse(204, ""));
      });
  ASSERT_OK(s.status());
  server_ = *std::move(s);
  Client client(sock_, absl::Milliseconds(200));
  EXPECT_THAT(client.Shutdown(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_OK(client.Snapshot("file:///s"));
  EXPECT_OK(client.Restore("file:///s"));
}

TEST_F(ClientTest, NonJsonBodyIsInternal) {
  auto s = FakeServer::Start(sock_, [](int conn, const SeenRequest&, int) {
    FakeServer::WriteAll(conn, FakeServer::ChResponse(200, "<html>"));
  });
  ASSERT_OK(s.status());
  server_ = *std::move(s);
  Client client(sock_);
  EXPECT_THAT(client.Info().status(), StatusIs(absl::StatusCode::kInternal,
                                               HasSubstr("body is not JSON")));
}

TEST_F(ClientTest, ChunkedInfo) {
  auto s = FakeServer::Start(sock_, [](int conn, const SeenRequest&, int) {
    FakeServer::WriteAll(conn,
                         "HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\n"
                         "9\r\n{\"state\":\r\n9\r\n\"Paused\"}\r\n0\r\n\r\n");
  });
  ASSERT_OK(s.status());
  server_ = *std::move(s);
  Client client(sock_);
  ASSERT_OK_AND_ASSIGN(json info, client.Info());
  EXPECT_EQ(info["state"], "Paused");
}

TEST_F(ClientTest, NoServerIsUnavailable) {
  Client client(sock_);
  EXPECT_THAT(client.Ping(), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace chtools::chapi
