// ch-snapshot's policy, applied in a forked child: copying files works,
// the network, exec and signals to others kill it by SIGSYS.
#include "tools/ch-snapshot/policy.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "gtest/gtest.h"
#include "lib/sandbox/policy_testing.h"
#include "lib/testing/temp_dir.h"

namespace ch_snapshot {
namespace {

using ::chtools::sandbox::testing::KilledBySigsys;

// The wait status of a child that applies BuildPolicy(), then runs `fn`
// (lib/sandbox/policy_testing.h).
int RunUnder(const std::function<bool()>& fn) {
  return ::chtools::sandbox::testing::RunUnderPolicy(BuildPolicy(), fn);
}

TEST(ChSnapshotPolicyTest, CopiesFilesIntoANewDir) {
  chtools::testing::TempDir dir;
  const std::string src = dir.Join("src"), tmp = dir.Join(".tmp-x");
  ASSERT_EQ(::close(::open(src.c_str(), O_CREAT | O_WRONLY, 0600)), 0);
  EXPECT_EQ(
      RunUnder([&] {
        int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
        if (in < 0 || ::write(::open(src.c_str(), O_WRONLY), "abc", 3) != 3)
          return false;
        if (::mkdir(tmp.c_str(), 0700) != 0) return false;
        const std::string dst = tmp + "/cow.raw";
        int out =
            ::open(dst.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0600);
        loff_t off_in = 0, off_out = 0;
        return out >= 0 &&
               ::copy_file_range(in, &off_in, out, &off_out, 3, 0) == 3 &&
               ::fsync(out) == 0 &&
               ::rename(tmp.c_str(), dir.Join("snap").c_str()) == 0;
      }),
      0);
}

TEST(ChSnapshotPolicyTest, NoNetworkExecOrSignalsToOthers) {
  EXPECT_TRUE(KilledBySigsys(
      RunUnder([] { return ::socket(AF_INET, SOCK_STREAM, 0) >= 0; })));
  EXPECT_TRUE(KilledBySigsys(RunUnder([] {
    char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
    return ::execv(argv[0], argv) == 0;
  })));
  EXPECT_TRUE(KilledBySigsys(RunUnder([] { return ::kill(1, SIGTERM) == 0; })));
  // CH's API socket is AF_UNIX: allowed.
  EXPECT_EQ(RunUnder([] { return ::socket(AF_UNIX, SOCK_STREAM, 0) >= 0; }), 0);
}

}  // namespace
}  // namespace ch_snapshot
