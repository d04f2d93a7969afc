// vm-index's core: the verbs ls, get, put, rm and fsck over the VM registry
// (lib/index), with stdin/stdout injected so tests run it in-process.
#ifndef CHTOOLS_TOOLS_VM_INDEX_VM_INDEX_H_
#define CHTOOLS_TOOLS_VM_INDEX_VM_INDEX_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/cli/format.h"
#include "lib/cli/stream.h"
#include "lib/record/records.pb.h"

namespace vm_index {

using ::chtools::cli::Format;
using ::chtools::cli::FormatOutput;
using ::chtools::cli::HumanBytes;
using ::chtools::cli::ParseFormat;

struct Options {
  // ls | get | put | rm | fsck.
  std::string verb;
  // Positional arguments after the verb (refs for get/rm).
  std::vector<std::string> args;
  // Root/run/log dirs and the CH binary (lib/config).
  chtools::ToolConfig config;
  // ls: keep only VMs in one of these (observed) states; empty = all.
  std::vector<chtools::Vm::State> states;
  // ls: keep only VMs whose name matches this glob (fnmatch); empty = all.
  std::string name_glob;
  // How records are printed.
  Format format = Format::kTextproto;
  // fsck: repair what can be repaired.
  bool repair = false;
  // fsck: "now" for the age of stale CREATING records.
  absl::Time now = absl::Now();
  // Called once after the index is open and before stdin is read (main.cc
  // loads the seccomp policy here); an error fails the command. May be empty.
  std::function<absl::Status()> lock_down;
};

// Standard input (lib/cli): injected so tests run the verbs in-process.
using Input = chtools::cli::Stdin;

struct Output {
  // Everything for stdout, complete (written once by the caller).
  std::string text;
  // Per-VM failures, one line each without the program prefix
  // (`vm "web": ...`); the command exits 1 if there are any.
  std::vector<std::string> errors;
};

// Runs one verb. A non-ok status means the whole command failed and
// `output` must be discarded (usage errors carry chtools::UsageStatus and map
// to exit 2); otherwise `output` holds stdout and the per-VM errors.
absl::Status Run(const Options& options, const Input& input, Output* output);

// "running,stopped" (any case) -> states. InvalidArgument for an unknown one.
absl::StatusOr<std::vector<chtools::Vm::State>> ParseStates(
    absl::string_view s);

// Exit status of a finished Run: 0 if `status` is ok and there are no
// per-VM errors, else 1 (2 for usage errors).
int ExitCodeOf(const absl::Status& status, const Output& output);

}  // namespace vm_index

#endif  // CHTOOLS_TOOLS_VM_INDEX_VM_INDEX_H_
