// The input half of the contract every tool shares: refs on argv, or a
// record stream on stdin ("-", or no refs with stdin not a terminal). A
// malformed stream is bad input (InvalidArgument: exit 1) in every tool; a
// missing or mixed input is a usage error (exit 2).
#ifndef CHTOOLS_LIB_CLI_STREAM_H_
#define CHTOOLS_LIB_CLI_STREAM_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/record/records.pb.h"

namespace chtools::cli {

// Standard input, injectable: tests hand in text.
struct Stdin {
  // Reads all of it; called at most once, and only when a verb needs it.
  std::function<absl::StatusOr<std::string>()> read;
  bool is_tty = false;
  std::string name = "<stdin>";  // in parse errors
  // When set, ReadStream returns what it returns instead of parsing `read`'s
  // text in this process (confined_stream.h parses in a confined child).
  std::function<absl::StatusOr<Records>()> records = nullptr;
};

// Stdin over a file descriptor.
Stdin FromFd(int fd, bool is_tty);
// Stdin holding `text` (tests).
Stdin FromText(std::string text);

// Whether `args` ask for the stream: exactly {"-"}, or no args and stdin is
// not a terminal. UsageStatus when "-" is mixed with refs.
absl::StatusOr<bool> WantsStream(absl::string_view verb,
                                 const std::vector<std::string>& args,
                                 const Stdin& in);

// Reads and parses the whole stream (errors "<stdin>:LINE:COL: ..." with the
// line and a caret: InvalidArgument), or returns `in.records()` when set.
absl::StatusOr<Records> ReadStream(const Stdin& in);

// The VMs a verb acts on: `args`, or the id (else name) of each vm record of
// the stream. UsageStatus "<verb> needs VM refs or a record stream" when
// there are neither; InvalidArgument for a record with neither id nor name.
absl::StatusOr<std::vector<std::string>> RefsOrStream(
    absl::string_view verb, const std::vector<std::string>& args,
    const Stdin& in);

}  // namespace chtools::cli

#endif  // CHTOOLS_LIB_CLI_STREAM_H_
