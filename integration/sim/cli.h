// CH v51's clap command line: which options exist, which take one value,
// several values after one flag, or none; repeats and vm-config options
// without a payload are usage errors (exit 2).
#ifndef CHTOOLS_INTEGRATION_SIM_CLI_H_
#define CHTOOLS_INTEGRATION_SIM_CLI_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "integration/sim/vm_config.h"

namespace chtools::sim {

struct CliArgs {
  CliValues values;   // long option name -> values ("watchdog" -> {})
  int verbosity = 0;  // number of -v
  bool help = false;
  bool version = false;
};

// Parses argv (without argv[0]). InvalidArgument carries clap's full
// message ("error: ...\n\nUsage: ...\n"), to be printed as is, exit 2.
absl::StatusOr<CliArgs> ParseCommandLine(const std::vector<std::string>& args);

// The --help text.
std::string HelpText();

}  // namespace chtools::sim

#endif  // CHTOOLS_INTEGRATION_SIM_CLI_H_
