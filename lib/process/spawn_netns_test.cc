// Spawn into a named network namespace (ip netns add), as ch-launch does.
#include <unistd.h>

#include <string>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/process/spawn.h"
#include "lib/testing/status_matchers.h"

namespace chtools::process {
namespace {

TEST(SpawnNetnsTest, NamedNamespace) {
  std::string name = absl::StrCat("chtools-spawn-", getpid());
  ASSERT_OK_AND_ASSIGN(CommandResult add,
                       RunCommand({"ip", "netns", "add", name}));
  ASSERT_EQ(add.exit, ExitInfo::Exited(0)) << add.err;
  // Removed on every exit path, a failed assertion included.
  absl::Cleanup del = [&name] {
    (void)RunCommand({"ip", "netns", "del", name});
  };
  ASSERT_OK_AND_ASSIGN(CommandResult mk,
                       RunCommand({"ip", "netns", "exec", name, "ip", "tuntap",
                                   "add", "chtdummy0", "mode", "tap"}));
  ASSERT_EQ(mk.exit, ExitInfo::Exited(0)) << mk.err;

  SpawnOptions o;
  o.argv = {"ip", "-o", "link", "show"};
  o.netns_path = "/run/netns/" + name;
  absl::StatusOr<CommandResult> inside = RunCommand(o);
  absl::StatusOr<CommandResult> outside =
      RunCommand({"ip", "-o", "link", "show"});
  ASSERT_OK(inside.status());
  ASSERT_OK(outside.status());
  EXPECT_NE(inside->out.find("chtdummy0"), std::string::npos) << inside->out;
  EXPECT_EQ(outside->out.find("chtdummy0"), std::string::npos);
}

}  // namespace
}  // namespace chtools::process
