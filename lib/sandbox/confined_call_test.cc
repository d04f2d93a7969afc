// RunConfined: results and errors come back from the child as they were
// made there; a forbidden syscall kills only the child, and says so.
#include "lib/sandbox/confined_call.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/sandbox/groups.h"
#include "lib/testing/status_matchers.h"

namespace chtools::sandbox {
namespace {

using ::chtools::testing::IsOkAndHolds;
using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;

PolicyBuilder Tight() {
  PolicyBuilder p;
  p.Allow(Group::kBasicProcess).Allow(Group::kReadWrite);
  return p;
}

TEST(ConfinedCallTest, ReturnsTheBytes) {
  std::string big(200000, 'x');
  big[5] = '\0';
  EXPECT_THAT(RunConfined("test", Tight(), {}, big.size(),
                          [&]() -> absl::StatusOr<std::string> { return big; }),
              IsOkAndHolds(big));
}

TEST(ConfinedCallTest, ReturnsTheErrorCodeAndMessage) {
  EXPECT_THAT(
      RunConfined("test", Tight(), {}, 100,
                  []() -> absl::StatusOr<std::string> {
                    return absl::InvalidArgumentError("<stdin>:1:2: bad\nx");
                  }),
      StatusIs(absl::StatusCode::kInvalidArgument, "<stdin>:1:2: bad\nx"));
}

TEST(ConfinedCallTest, ForbiddenSyscallKillsTheChildBySigsys) {
  EXPECT_THAT(RunConfined("record parser", Tight(), {}, 100,
                          []() -> absl::StatusOr<std::string> {
                            // Not in basic-process or read-write.
                            (void)::socket(AF_INET, SOCK_STREAM, 0);
                            return std::string("escaped");
                          }),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("record parser: killed by signal 31 (Bad "
                                 "system call): a syscall outside its "
                                 "seccomp policy")));
  // The parent is not confined.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  ::close(fd);
}

TEST(ConfinedCallTest, ChildMayNotOpenFiles) {
  EXPECT_THAT(RunConfined("test", Tight(), {}, 100,
                          []() -> absl::StatusOr<std::string> {
                            (void)::open("/etc/passwd", O_RDONLY | O_CLOEXEC);
                            return std::string("read it");
                          }),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("outside its seccomp policy")));
}

TEST(ConfinedCallTest, TooLargeResultIsAnError) {
  EXPECT_THAT(RunConfined("test", Tight(), {}, 10,
                          []() -> absl::StatusOr<std::string> {
                            return std::string(1 << 20, 'x');
                          }),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("test: sent more than 10 bytes")));
}

TEST(ConfinedCallTest, KeepsOnlyTheFdsAskedFor) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  ASSERT_EQ(::write(p[1], "hi", 2), 2);
  ::close(p[1]);
  auto read_fd = [](int fd) -> absl::StatusOr<std::string> {
    char buf[8];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) return absl::NotFoundError("closed");
    return std::string(buf, static_cast<size_t>(n));
  };
  EXPECT_THAT(
      RunConfined("test", Tight(), {p[0]}, 100, [&] { return read_fd(p[0]); }),
      IsOkAndHolds("hi"));
  EXPECT_THAT(
      RunConfined("test", Tight(), {}, 100, [&] { return read_fd(p[0]); }),
      StatusIs(absl::StatusCode::kNotFound));
  ::close(p[0]);
}

// A file opened while stdout was closed is fd 1: kept when asked for, else
// stdout is /dev/null in the child.
TEST(ConfinedCallTest, StdoutIsNullUnlessKept) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  const int saved = ::dup(STDOUT_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(::dup2(p[1], STDOUT_FILENO), STDOUT_FILENO);
  auto write_out = []() -> absl::StatusOr<std::string> {
    if (::write(STDOUT_FILENO, "x", 1) != 1) return absl::DataLossError("w");
    return std::string("ok");
  };
  auto dropped = RunConfined("test", Tight(), {}, 100, write_out);
  auto kept = RunConfined("test", Tight(), {STDOUT_FILENO}, 100, write_out);
  ASSERT_EQ(::dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
  ::close(saved);
  ::close(p[1]);
  EXPECT_THAT(dropped, IsOkAndHolds("ok"));
  EXPECT_THAT(kept, IsOkAndHolds("ok"));
  char buf[8];
  EXPECT_EQ(::read(p[0], buf, sizeof(buf)), 1);  // only the kept one's "x"
  ::close(p[0]);
}

}  // namespace
}  // namespace chtools::sandbox
