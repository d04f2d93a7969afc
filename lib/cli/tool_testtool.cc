// A tiny program over lib/base/cli for cli_test.sh.
#include "lib/cli/tool.h"

#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/str_join.h"

ABSL_FLAG(int, count, 1, "A number.");
ABSL_FLAG(bool, loud, false, "A switch.");
ABSL_FLAG(std::string, fail, "", "Fail with this message.");
ABSL_FLAG(int, max_count, 0, "Another number.");

int main(int argc, char** argv) {
  std::vector<std::string> args =
      chtools::InitTool("cli_testtool [--count=N] ARG...", argc, argv);
  if (!absl::GetFlag(FLAGS_fail).empty()) {
    return chtools::ExitCode(absl::NotFoundError(absl::GetFlag(FLAGS_fail)));
  }
  std::printf("max=%d count=%d loud=%d args=%s\n",
              absl::GetFlag(FLAGS_max_count), absl::GetFlag(FLAGS_count),
              absl::GetFlag(FLAGS_loud) ? 1 : 0,
              absl::StrJoin(args, ",").c_str());
  return 0;
}
