// ch-launch's core: one subcommand over refs or a record stream, with the
// records of what succeeded and one error line per VM that failed. The VM
// work itself is lib/vm's.
#ifndef CHTOOLS_TOOLS_CH_LAUNCH_CH_LAUNCH_H_
#define CHTOOLS_TOOLS_CH_LAUNCH_CH_LAUNCH_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/cli/output.h"
#include "lib/cli/stream.h"
#include "lib/vm/env.h"
#include "tools/ch-launch/flags_parse.h"

namespace ch_launch {

struct Options {
  std::string command;            // create | start | stop | rm | debug
  std::vector<std::string> args;  // refs; "-" = the stream on stdin
  CreateFlags create;
  std::optional<absl::Duration> timeout;  // stop, rm: power-button wait
  bool force = false;                     // rm
};

// Runs the subcommand. A usage error (chtools::UsageStatus) or a malformed
// stream (InvalidArgument) means nothing was done; otherwise the batch holds
// the records of what succeeded and one line per failure.
absl::StatusOr<chtools::cli::Batch> Run(const chtools::vm::Env& env,
                                        const Options& options,
                                        const chtools::cli::Stdin& in);

}  // namespace ch_launch

#endif  // CHTOOLS_TOOLS_CH_LAUNCH_CH_LAUNCH_H_
