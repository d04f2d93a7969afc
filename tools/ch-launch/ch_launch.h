// ch-launch's core: one subcommand over refs or a record stream, with the
// records of what succeeded and one error line per VM that failed.
#ifndef CHTOOLS_TOOLS_CH_LAUNCH_CH_LAUNCH_H_
#define CHTOOLS_TOOLS_CH_LAUNCH_CH_LAUNCH_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/record/records.pb.h"
#include "tools/ch-launch/create.h"
#include "tools/ch-launch/flags_parse.h"

namespace ch_launch {

struct Options {
  std::string command;            // create | start | stop | rm | debug
  std::vector<std::string> args;  // refs; "-" = the stream on stdin
  CreateFlags create;
  std::optional<absl::Duration> timeout;  // stop: power-button wait
  bool force = false;                     // rm
};

struct Result {
  chtools::Records out;                // records acted on
  std::vector<std::string> text;       // debug: one command line per VM
  std::vector<std::string> errors;     // `vm "name": what failed: why`
  absl::Status usage = absl::OkStatus();  // a usage error: nothing was done
};

// Runs the subcommand. `stdin_fd` is read when the input is a stream (no
// refs and stdin not a terminal, or "-").
Result Run(const Env& env, const Options& options, int stdin_fd, bool stdin_is_tty);

}  // namespace ch_launch

#endif  // CHTOOLS_TOOLS_CH_LAUNCH_CH_LAUNCH_H_
