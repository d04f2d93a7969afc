// Tool start-up and the mapping from a final status to an exit code, shared by
// every program: 0 ok, 1 failed, 2 usage error.
#ifndef CHTOOLS_LIB_CLI_TOOL_H_
#define CHTOOLS_LIB_CLI_TOOL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace chtools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Sets the usage text, parses flags (exiting 2 with a one-line message on a
// bad flag, 0 after --help), records the program name for messages and
// returns the positional arguments without argv[0].
std::vector<std::string> InitTool(absl::string_view usage, int argc,
                                  char** argv);

// The basename of argv[0] as given to InitTool ("chtools" before).
const std::string& ProgramName();

// Prints "<program>: <message>" to stderr.
void PrintError(absl::string_view message);

// 0 for ok; otherwise prints "<program>: <message>" and returns 1, or 2 when
// the status is a usage error made by UsageStatus.
int ExitCode(const absl::Status& status);

// Prints "<program>: <message>" and a pointer to --help; returns 2.
int UsageError(absl::string_view message);

// A status that ExitCode maps to exit code 2 (a usage error found late, for
// example a bad combination of flags detected inside a tool's core).
absl::Status UsageStatus(absl::string_view message);
bool IsUsageStatus(const absl::Status& status);

}  // namespace chtools

#endif  // CHTOOLS_LIB_CLI_TOOL_H_
