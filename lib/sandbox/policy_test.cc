// Runs testcases/policy_helper under policies and checks how it ends: an
// allowed call exits 0, a forbidden one is killed by SIGSYS.
#include "lib/sandbox/policy.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/sandbox/groups.h"
#include "lib/testing/temp_dir.h"

namespace chtools::sandbox {
namespace {

std::string* helper_path = nullptr;

struct Case {
  const char* name;
  const char* groups;
  const char* what;
  // Negative: killed by that signal; otherwise the exit code.
  int expect;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

constexpr int kSigsys = -SIGSYS;

// The wait status of the helper run with `groups` and `what`; stdout and
// stderr go to `out`.
int RunHelper(const std::string& groups, const std::string& what,
              const std::string& dir, std::string* out) {
  int pipefd[2];
  EXPECT_EQ(::pipe2(pipefd, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipefd[1], STDOUT_FILENO);
    ::dup2(pipefd[1], STDERR_FILENO);
    ::chdir(dir.c_str());
    std::vector<char*> argv = {helper_path->data(),
                               const_cast<char*>(groups.c_str()),
                               const_cast<char*>(what.c_str()),
                               const_cast<char*>(dir.c_str()), nullptr};
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof(buf))) > 0) out->append(buf, n);
  ::close(pipefd[0]);
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return status;
}

class PolicyTest : public ::testing::TestWithParam<Case> {};

TEST_P(PolicyTest, EndsAsExpected) {
  const Case& c = GetParam();
  chtools::testing::TempDir dir;
  std::string out;
  int status = RunHelper(c.groups, c.what, dir.path(), &out);
  if (c.expect < 0) {
    ASSERT_TRUE(WIFSIGNALED(status))
        << "expected signal " << -c.expect << ", got exit "
        << WEXITSTATUS(status) << ": " << out;
    EXPECT_EQ(WTERMSIG(status), -c.expect) << out;
  } else {
    ASSERT_TRUE(WIFEXITED(status))
        << "expected exit " << c.expect << ", got signal " << WTERMSIG(status)
        << ": " << out;
    EXPECT_EQ(WEXITSTATUS(status), c.expect) << out;
  }
}

// The basic groups every locked-down tool has.
#define BASE "basic,rw,stdio"

INSTANTIATE_TEST_SUITE_P(
    Cases, PolicyTest,
    ::testing::Values(
        // Sanity: without a policy the helper can do everything below.
        Case{"NoPolicySocket", "none", "socket-inet", 0},
        Case{"NoPolicyMkdir", "none", "mkdir", 0},
        Case{"BasicExits", BASE, "nothing", 0},
        Case{"BasicWritesStdout", BASE, "write-stdout", 0},
        Case{"BasicMallocs", BASE, "malloc", 0},
        Case{"ExecMemoryKilled", BASE, "mmap-exec", kSigsys},
        Case{"InetSocketKilled", BASE, "socket-inet", kSigsys},
        Case{"InetSocketKilledWithUnixGroup", BASE ",unix", "socket-inet",
             kSigsys},
        Case{"UnixSocketAllowed", BASE ",unix", "socket-unix", 0},
        Case{"UnixSocketKilledWithoutGroup", BASE, "socket-unix", kSigsys},
        Case{"MkdirKilled", BASE ",ro", "mkdir", kSigsys},
        Case{"MkdirAllowedWithDirs", BASE ",dirs", "mkdir", 0},
        Case{"ReadFileKilledWithoutGroup", BASE, "read-file", kSigsys},
        Case{"ReadFileAllowed", BASE ",ro", "read-file", 0},
        Case{"OpenDirAllowedReadOnly", BASE ",ro", "open-dir", 0},
        Case{"OpenTmpfileKilledReadOnly", BASE ",ro", "open-tmpfile", kSigsys},
        Case{"OpenTmpfileAllowed", BASE ",openwrite", "open-tmpfile", 0},
        Case{"OpenForWriteKilledReadOnly", BASE ",ro", "open-write", kSigsys},
        Case{"OpenForWriteAllowed", BASE ",openwrite", "open-write", 0},
        Case{"CreateInDirAllowed", BASE ",create-in", "create-in", 0},
        Case{"CreateWithoutNofollowKilled", BASE ",create-in",
             "create-following", kSigsys},
        Case{"CreateOutsideDirFdKilled", BASE ",create-in", "create-cwd",
             kSigsys},
        Case{"ForkKilled", BASE ",signals,time", "fork", kSigsys},
        Case{"ForkAllowedWithSpawn", BASE ",spawn", "fork", 0},
        Case{"KillOtherKilled", BASE ",signals", "kill-other", kSigsys},
        // abort() still ends with SIGABRT, not SIGSYS: tgkill to itself.
        Case{"AbortStillAborts", BASE, "abort", -SIGABRT},
        // The development mode reports and fails the call instead of killing.
        Case{"ReportModeGoesOn", BASE ",report", "socket-inet", 3},
        // SCMP_ACT_LOG: the kernel logs the call and lets it through.
        Case{"LogModeAllows", BASE ",log", "socket-inet", 0}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return std::string(info.param.name);
    });

TEST(PolicyTest, ReportModeNamesTheSyscall) {
  chtools::testing::TempDir dir;
  std::string out;
  int status = RunHelper(BASE ",report", "socket-inet", dir.path(), &out);
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_NE(
      out.find(absl::StrCat("seccomp: syscall ", __NR_socket, " not allowed")),
      std::string::npos)
      << out;
}

TEST(GroupsTest, EveryRuleSaysWhy) {
  for (int g = 0; g <= static_cast<int>(Group::kTime); ++g) {
    for (const Rule& r : GroupRules(static_cast<Group>(g), 1)) {
      EXPECT_FALSE(r.why.empty()) << GroupName(static_cast<Group>(g));
      EXPECT_GE(r.nr, 0) << GroupName(static_cast<Group>(g)) << ": " << r.why;
    }
  }
}

}  // namespace
}  // namespace chtools::sandbox

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 2) {
    std::fprintf(stderr, "usage: policy_test PATH_TO_POLICY_HELPER\n");
    return 2;
  }
  // Absolute: the helper runs with its test dir as working directory.
  char* real = ::realpath(argv[1], nullptr);
  if (real == nullptr) {
    std::perror(argv[1]);
    return 2;
  }
  std::string path = real;
  std::free(real);
  chtools::sandbox::helper_path = &path;
  return RUN_ALL_TESTS();
}
