// The input half of the contract every tool shares: refs on argv, or a
// record stream on stdin ("-", or no refs with stdin not a terminal). A
// malformed stream is bad input (InvalidArgument: exit 1) in every tool; a
// missing or mixed input is a usage error (exit 2).
#ifndef CHTOOLS_LIB_CLI_STREAM_H_
#define CHTOOLS_LIB_CLI_STREAM_H_

#include <cstddef>
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

// A record stream is read whole before it is parsed (parsing needs ~4
// times its size): a larger one is refused, so memory stays bounded.
inline constexpr size_t kMaxStreamBytes = size_t{64} << 20;
// At most this many records in one stream (a registry of 10,000 VMs is
// one tenth of it): more is refused before any is built.
inline constexpr size_t kMaxStreamRecords = 100000;
// How much of a bad ref from a stream an error message shows.
inline constexpr size_t kMaxShownRef = 80;

// Stdin over a file descriptor; more than kMaxStreamBytes is InvalidArgument
// "<stdin>: record stream larger than 64 MiB: split it".
Stdin FromFd(int fd, bool is_tty);
// Stdin holding `text` (tests).
Stdin FromText(std::string text);

// Whether `args` ask for the stream: exactly {"-"}, or no args and stdin is
// not a terminal. UsageStatus when "-" is mixed with refs.
absl::StatusOr<bool> WantsStream(absl::string_view verb,
                                 const std::vector<std::string>& args,
                                 const Stdin& in);

// Reads and parses the whole stream (errors "<stdin>:LINE:COL: ..." with the
// line and a caret: InvalidArgument); more than kMaxStreamRecords records is
// InvalidArgument before any is parsed. Returns `in.records()` instead when
// set.
absl::StatusOr<Records> ReadStream(const Stdin& in);

// What ReadStream does with the text it read: the record count cap, then
// ParseRecords (the confined parser runs the same, confined_stream.h).
absl::StatusOr<Records> ParseStreamText(absl::string_view text,
                                        absl::string_view name);

// InvalidArgument "<name>: record stream larger than 64 MiB: split it".
absl::Status StreamTooLarge(absl::string_view name);

// The VMs a verb acts on: `args`, or the id (else name) of each vm record of
// the stream. UsageStatus "<verb> needs VM refs or a record stream" when
// there are neither; InvalidArgument for a record with neither id nor name,
// or whose id is not an id or (without an id) whose name is not a valid name.
absl::StatusOr<std::vector<std::string>> RefsOrStream(
    absl::string_view verb, const std::vector<std::string>& args,
    const Stdin& in);

// The snapshots a verb acts on from a parsed stream: the id (else name) of
// each snapshot record. InvalidArgument, naming the field, for a record with
// neither, an id that is not an id, or (without an id) an invalid name.
absl::StatusOr<std::vector<std::string>> SnapshotRefs(const Records& records,
                                                      const Stdin& in);

}  // namespace chtools::cli

#endif  // CHTOOLS_LIB_CLI_STREAM_H_
