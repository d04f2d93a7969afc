#include "lib/chapi/wait_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/unique_fd.h"
#include "lib/chapi/fake_server.h"
#include "lib/process/spawn.h"
#include "lib/testing/status_matchers.h"

namespace chtools::chapi {
namespace {

using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;

UniqueFd Bind(const std::string& path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  EXPECT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
            0);
  return fd;
}

TEST(WaitForApiSocketTest, AlreadyListening) {
  chapi::testing::SocketDir dir;
  std::string sock = dir.Join("api.sock");
  UniqueFd l = Bind(sock);
  ASSERT_EQ(listen(l.get(), 4), 0);
  EXPECT_OK(WaitForApiSocket(sock, -1, absl::Seconds(5)));
}

TEST(WaitForApiSocketTest, SocketAppearsLater) {
  chapi::testing::SocketDir dir;
  std::string sock = dir.Join("api.sock");
  UniqueFd l;
  std::thread t([&] {
    absl::SleepFor(absl::Milliseconds(300));
    l = Bind(sock);
    listen(l.get(), 4);
  });
  absl::Time start = absl::Now();
  absl::Status s = WaitForApiSocket(sock, -1, absl::Seconds(20));
  absl::Duration took = absl::Now() - start;
  t.join();
  EXPECT_OK(s);
  EXPECT_GE(took, absl::Milliseconds(300));
  // Woken by inotify, not by a 100 ms poll tick.
  EXPECT_LT(took, absl::Seconds(5));
}

TEST(WaitForApiSocketTest, BoundButNotYetListening) {
  chapi::testing::SocketDir dir;
  std::string sock = dir.Join("api.sock");
  UniqueFd l = Bind(sock);
  std::thread t([&] {
    absl::SleepFor(absl::Milliseconds(200));
    listen(l.get(), 4);
  });
  absl::Status s = WaitForApiSocket(sock, -1, absl::Seconds(20));
  t.join();
  EXPECT_OK(s);
}

TEST(WaitForApiSocketTest, ProcessExitFailsEarly) {
  chapi::testing::SocketDir dir;
  process::SpawnOptions o;
  o.argv = {"sh", "-c", "sleep 0.2; exit 1"};
  ASSERT_OK_AND_ASSIGN(process::Child child, process::Spawn(o));
  absl::Time start = absl::Now();
  EXPECT_THAT(
      WaitForApiSocket(dir.Join("api.sock"), child.pidfd(), absl::Seconds(30)),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("exited before its API socket")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(WaitForApiSocketTest, StaleSocketAndDeadProcess) {
  chapi::testing::SocketDir dir;
  std::string sock = dir.Join("api.sock");
  UniqueFd stale = Bind(sock);
  stale.reset();  // the file stays, nobody listens
  process::SpawnOptions o;
  o.argv = {"true"};
  ASSERT_OK_AND_ASSIGN(process::Child child, process::Spawn(o));
  EXPECT_THAT(WaitForApiSocket(sock, child.pidfd(), absl::Seconds(30)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(WaitForApiSocketTest, Timeout) {
  chapi::testing::SocketDir dir;
  absl::Time start = absl::Now();
  EXPECT_THAT(
      WaitForApiSocket(dir.Join("api.sock"), -1, absl::Milliseconds(300)),
      StatusIs(absl::StatusCode::kDeadlineExceeded,
               HasSubstr("not ready after 300ms")));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
}

TEST(WaitForApiSocketTest, MissingDirectory) {
  EXPECT_THAT(
      WaitForApiSocket("/nonexistent-dir/api.sock", -1, absl::Seconds(1)),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent-dir")));
}

}  // namespace
}  // namespace chtools::chapi
