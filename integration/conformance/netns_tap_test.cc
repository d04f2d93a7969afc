// The simulator, started through lib/process Spawn(netns_path) in a named
// network namespace (ip netns add), attaches to that namespace's multi-queue
// tap - not to a new tap somewhere else. Needs /run/netns: tags no-sandbox.
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/sim/sim_fixture.h"
#include "lib/testing/status_matchers.h"

namespace chtools::conformance {
namespace {

using process::ExitInfo;
using ::testing::HasSubstr;

// Interface names of the netns `netns_path` ("" = ours).
std::set<std::string> Links(const std::string& netns_path) {
  process::SpawnOptions o;
  o.argv = {"ip", "-o", "link", "show"};
  o.netns_path = netns_path;
  absl::StatusOr<process::CommandResult> r = process::RunCommand(o);
  std::set<std::string> names;
  if (!r.ok()) return names;
  for (absl::string_view line :
       absl::StrSplit(r->out, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ": ");
    if (f.size() >= 2)
      names.insert(std::string(f[1].substr(0, f[1].find('@'))));
  }
  return names;
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

class NetnsTapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = absl::StrCat("chtools-conf-", getpid());
    path_ = "/run/netns/" + name_;
    Ip({"ip", "netns", "add", name_});
    Ip({"ip", "netns", "exec", name_, "ip", "tuntap", "add", "tapmq", "mode",
        "tap", "multi_queue"});
  }
  void TearDown() override {
    (void)process::RunCommand({"ip", "netns", "del", name_});
  }
  void Ip(const std::vector<std::string>& argv) {
    absl::StatusOr<process::CommandResult> r = process::RunCommand(argv);
    ASSERT_OK(r.status());
    ASSERT_EQ(r->exit, ExitInfo::Exited(0)) << r->err;
  }
  SimOptions CliBoot(const std::string& files, const std::string& netns) {
    WriteFile(files + "/k", "k");
    MakeRawDisk(files + "/d.raw");
    SimOptions o;
    o.netns_path = netns;
    o.args = {"--cpus",
              "boot=2",
              "--kernel",
              files + "/k",
              "--disk",
              "path=" + files + "/d.raw",
              "--net",
              "tap=tapmq,mac=52:54:00:00:00:01,num_queues=4,queue_size=256",
              "--console",
              "off"};
    return o;
  }
  std::string name_, path_;
};

TEST_F(NetnsTapTest, AttachesToThatVeryMultiQueueTap) {
  std::set<std::string> host_before = Links("");
  ASSERT_EQ(host_before.count("tapmq"), 0u);
  chapi::testing::SocketDir files;
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start(CliBoot(files.path(), path_)));
  ASSERT_OK(sim->WaitRunning());
  ASSERT_OK_AND_ASSIGN(nlohmann::json info, sim->client().Info());
  ASSERT_EQ(info["state"], "Running");
  EXPECT_EQ(info["config"]["net"][0]["tap"], "tapmq");

  pid_t pid = sim->child().pid();
  // 1. The process lives in the named netns.
  EXPECT_TRUE(SameFile(absl::StrCat("/proc/", pid, "/ns/net"), path_));
  EXPECT_FALSE(
      SameFile(absl::StrCat("/proc/", pid, "/ns/net"), "/proc/self/ns/net"));
  // 2. It holds two queue fds (num_queues=4 = 2 pairs) on tapmq.
  EXPECT_EQ(TunAttachments(pid),
            std::multiset<std::string>({"tapmq", "tapmq"}));
  // 3. The tap in that netns is the multi-queue one we made, now with 2 queues.
  process::SpawnOptions o;
  o.argv = {"ip", "-d", "link", "show", "tapmq"};
  o.netns_path = path_;
  ASSERT_OK_AND_ASSIGN(process::CommandResult r, process::RunCommand(o));
  EXPECT_THAT(r.out, HasSubstr("multi_queue"));
  EXPECT_THAT(r.out, HasSubstr("numqueues 2")) << r.out;
  EXPECT_EQ(Links(path_), std::set<std::string>({"lo", "tapmq"}));
  // 4. No tap appeared in our own netns.
  EXPECT_EQ(Links(""), host_before);

  ASSERT_OK(sim->client().ShutdownVmm());
  EXPECT_EQ(sim->WaitExit(), ExitInfo::Exited(0));
  ASSERT_OK_AND_ASSIGN(r, process::RunCommand(o));
  EXPECT_THAT(r.out, HasSubstr("numqueues 0")) << r.out;
}

// Control: launched in the wrong netns (a fresh one), the simulator - like CH -
// silently creates a new "tapmq" there; the checks above tell the two apart.
TEST_F(NetnsTapTest, WrongNamespaceGetsAUselessNewTap) {
  ASSERT_OK_AND_ASSIGN(auto wrong, ScratchNetns::Create());
  chapi::testing::SocketDir files;
  ASSERT_OK_AND_ASSIGN(auto sim,
                       Sim::Start(CliBoot(files.path(), wrong->path())));
  // The socket is up before the boot (gotcha 1): wait for the VM.
  ASSERT_OK(sim->WaitRunning());
  pid_t pid = sim->child().pid();
  EXPECT_FALSE(SameFile(absl::StrCat("/proc/", pid, "/ns/net"), path_));
  EXPECT_EQ(TunAttachments(pid),
            std::multiset<std::string>({"tapmq", "tapmq"}));
  EXPECT_EQ(Links(wrong->path()).count("tapmq"), 1u)
      << "a new tap in the wrong netns";
  process::SpawnOptions o;
  o.argv = {"ip", "-d", "link", "show", "tapmq"};
  o.netns_path = path_;
  ASSERT_OK_AND_ASSIGN(process::CommandResult r, process::RunCommand(o));
  EXPECT_THAT(r.out, HasSubstr("numqueues 0"))
      << "the real tap stays unattached";
}

}  // namespace
}  // namespace chtools::conformance
