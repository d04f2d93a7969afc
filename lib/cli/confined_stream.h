// A record stream on stdin read and parsed in a child process confined by
// seccomp (lib/sandbox/confined_call.h), for tools that cannot confine
// themselves because they go on to run other programs (CH, mkfs.ext4,
// qemu-img): the text-format parser, the part that handles untrusted bytes,
// runs where it can only read its input and report back.
#ifndef CHTOOLS_LIB_CLI_CONFINED_STREAM_H_
#define CHTOOLS_LIB_CLI_CONFINED_STREAM_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/cli/stream.h"
#include "lib/record/records.pb.h"

namespace chtools::cli {

// The largest stream the child hands back (binary protobuf, below the
// parser's 2 GiB limit).
inline constexpr size_t kMaxConfinedRecordsBytes = size_t{1} << 30;

// Like FromFd, but ReadStream parses in a confined child (ReadRecordsConfined).
Stdin ConfinedFromFd(int fd, bool is_tty);

// Reads `fd` to EOF and parses it as a Records stream in a forked child that
// may only read and write the fds it holds (basic-process and read-write:
// no opening files, no sockets, no exec, no signals to others); the child
// also checks that every text field is valid UTF-8 (the binary encoding it
// hands back requires it) and sends the records, serialized, over a pipe.
// This process parses them back, at most kMaxConfinedRecordsBytes.
// Errors: those of ParseRecords, unchanged ("<name>:LINE:COL: ...",
// InvalidArgument); InvalidArgument "<name>: vm[i].config.name: is not valid
// UTF-8 ..."; Internal "<name>: record parser: killed by signal 31 (Bad
// system call): ..." when the child breaks its policy or dies otherwise, or
// sends what does not parse. The caller must be single-threaded (fork).
absl::StatusOr<Records> ReadRecordsConfined(int fd, absl::string_view name);

}  // namespace chtools::cli

#endif  // CHTOOLS_LIB_CLI_CONFINED_STREAM_H_
