// The output half of the contract every tool shares: the records of what
// succeeded go to stdout once, at the end, complete; one stderr line per
// failure (`program: vm "web": start: why`); exit 0 when all succeeded, 1
// when any failed. A sink also carries large binary streams (a tar on
// stdout) for the tools that write them.
#ifndef CHTOOLS_LIB_CLI_OUTPUT_H_
#define CHTOOLS_LIB_CLI_OUTPUT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "lib/cli/format.h"
#include "lib/record/records.pb.h"

namespace chtools::cli {

// What a batch command produced.
struct Batch {
  Records out;                      // records of what succeeded
  std::vector<std::string> text;    // or: plain lines (ch-launch debug)
  std::vector<std::string> errors;  // `vm "name": what failed: why`
};

// `vm "<name>": <op>: <message>`; a message that already names the VM (the
// index's `vm "x": not found`) is kept as it is.
std::string VmError(absl::string_view name, absl::string_view op,
                    const absl::Status& status);

// Where stdout goes. Writes are complete or fail with an error naming it.
class Sink {
 public:
  explicit Sink(int fd, std::string name = "<stdout>")
      : fd_(fd), name_(std::move(name)) {}
  int fd() const { return fd_; }
  absl::Status Write(absl::string_view data);
  // Copies `in` to EOF (a binary stream; splice/sendfile where they apply).
  absl::Status CopyFrom(int in, absl::string_view in_name);

 private:
  int fd_;
  std::string name_;
};

// Prints `batch.errors` on stderr and writes the records (or the text lines)
// once to `sink`; nothing at all when there is nothing to print (so a
// failure leaves `a && b` pipelines an empty stdout). Returns the exit
// code: 0, 1 if any error (or the write failed).
// Records are printed in `format` (text proto for pipelines by default).
int Finish(const Batch& batch, Sink& sink, Format format = Format::kTextproto);

}  // namespace chtools::cli

#endif  // CHTOOLS_LIB_CLI_OUTPUT_H_
