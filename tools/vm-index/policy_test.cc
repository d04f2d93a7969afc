// vm-index's policy, applied in a forked child: what each verb may and may
// not do ends as exit 0 or death by SIGSYS.
#include "tools/vm-index/policy.h"

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

namespace vm_index {
namespace {

using ::chtools::sandbox::testing::KilledBySigsys;

// The wait status of a child that applies BuildPolicy(verb), then runs `fn`
// (lib/sandbox/policy_testing.h).
int RunUnder(const std::string& verb, const std::function<bool()>& fn) {
  return ::chtools::sandbox::testing::RunUnderPolicy(BuildPolicy(verb), fn);
}

class VmIndexPolicyTest : public ::testing::Test {
 protected:
  chtools::testing::TempDir dir_;
};

TEST_F(VmIndexPolicyTest, ReadVerbsReadButNeverCreate) {
  const std::string file = dir_.Join("f");
  ASSERT_EQ(::close(::open(file.c_str(), O_CREAT | O_WRONLY, 0600)), 0);
  for (const char* verb : {"ls", "get"}) {
    EXPECT_EQ(RunUnder(verb,
                       [&] {
                         return ::open(file.c_str(), O_RDONLY | O_CLOEXEC) >= 0;
                       }),
              0)
        << verb;
    EXPECT_TRUE(KilledBySigsys(RunUnder(verb, [&] {
      return ::open(dir_.Join("new").c_str(),
                    O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600) >= 0;
    }))) << verb;
    EXPECT_TRUE(KilledBySigsys(RunUnder(verb, [&] {
      return ::unlink(file.c_str()) == 0;
    }))) << verb;
  }
}

TEST_F(VmIndexPolicyTest, WriteVerbsCreateRenameAndRemove) {
  for (const char* verb : {"put", "rm", "fsck"}) {
    const std::string a = dir_.Join(std::string(verb) + ".a");
    const std::string b = dir_.Join(std::string(verb) + ".b");
    EXPECT_EQ(RunUnder(verb,
                       [&] {
                         int fd = ::open(
                             a.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
                             0600);
                         return fd >= 0 && ::fsync(fd) == 0 &&
                                ::rename(a.c_str(), b.c_str()) == 0 &&
                                ::symlink("x", a.c_str()) == 0 &&
                                ::unlink(a.c_str()) == 0 &&
                                ::unlink(b.c_str()) == 0;
                       }),
              0)
        << verb;
  }
}

TEST_F(VmIndexPolicyTest, NoVerbMayUseTheNetworkOrExec) {
  for (const char* verb : {"ls", "get", "put", "rm", "fsck"}) {
    EXPECT_TRUE(KilledBySigsys(RunUnder(verb, [] {
      return ::socket(AF_INET, SOCK_STREAM, 0) >= 0;
    }))) << verb;
    EXPECT_TRUE(KilledBySigsys(RunUnder(verb, [] {
      char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
      return ::execv(argv[0], argv) == 0;
    }))) << verb;
    EXPECT_TRUE(KilledBySigsys(RunUnder(verb, [] {
      return ::kill(1, SIGTERM) == 0;
    }))) << verb;
    // The one socket family it needs: a VM's API socket.
    EXPECT_EQ(
        RunUnder(verb, [] { return ::socket(AF_UNIX, SOCK_STREAM, 0) >= 0; }),
        0)
        << verb;
  }
}

}  // namespace
}  // namespace vm_index
