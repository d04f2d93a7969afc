// vm-index: the registry of VM records: list, get, put, remove, check.
//
// stdin:  put: a Records stream (text format) of vm records to store.
//         get/rm: refs on argv, or a Records stream whose vm records name
//         the VMs ("-", or no refs with stdin not a terminal).
// stdout: the vm records listed, got, stored or removed (fsck: finding
//         records), written once at the end; text format unless --format
//         says otherwise or stdout is a terminal (then a table).
// Exit:   0 all ok; 1 any VM failed or fsck found problems (the records that
//         succeeded are still printed); 2 usage error.
//
// Example:
//   vm-index ls --state=running --format=textproto | ch-launch stop
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/cli/stream.h"
#include "lib/cli/tool.h"
#include "lib/config/config.h"
#include "lib/fs/io.h"
#include "lib/record/textproto.h"
#include "tools/vm-index/policy.h"
#include "tools/vm-index/vm_index.h"

ABSL_FLAG(std::string, state, "",
          "ls: only VMs in these states (comma-separated: creating, created, "
          "running, stopped, error, deleting).");
ABSL_FLAG(std::string, name, "", "ls: only VMs whose name matches this glob.");
ABSL_FLAG(std::string, format, "",
          "Output: textproto, table or json (default: table on a terminal, "
          "textproto otherwise).");
ABSL_FLAG(bool, repair, false, "fsck: repair what can be repaired.");

namespace {

constexpr char kUsage[] =
    R"(vm-index: the registry of VM records (text-format chtools.Records).

Usage: vm-index [flags] VERB [ARGS]

  ls [--state=STATE[,STATE]] [--name=GLOB]
      List VMs, sorted by name. STATE is the observed one: "running" means a
      live Cloud Hypervisor process, whatever the record says.
        vm-index ls --state=running --name='web-*'
  get REF...
      Print the records of VMs by id, name or unique id prefix (3+ chars);
      with no REF, the VMs named by a record stream on stdin.
        vm-index get web 3f9c
  put
      Store the vm records of a stream on stdin (insert or replace by id),
      validated as a whole: one bad record and nothing is written. Records
      are stored as given; created_at/updated_at are set only when empty.
        cat a.txtpb b.txtpb | vm-index put
  rm REF...
      Remove VM records (not their disks or dirs). Refuses a VM whose Cloud
      Hypervisor process is alive.
        vm-index rm web
  fsck [--repair]
      Check names against records, records against run/log dirs and live
      processes, stale "creating" records; print findings as records.
      Nothing changes without --repair.
        vm-index fsck --repair --format=table

Settings: flag > CHTOOLS_ROOT_DIR/RUN_DIR/LOG_DIR/CH_BINARY > --config file
(text-format chtools.ToolConfig) > defaults.

)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args = chtools::InitTool(
      absl::StrCat(kUsage, vm_index::kPolicyHelp), argc, argv);
  vm_index::Options options;
  if (!args.empty()) {
    options.verb = args[0];
    options.args.assign(args.begin() + 1, args.end());
  }
  absl::StatusOr<std::vector<chtools::Vm::State>> states =
      vm_index::ParseStates(absl::GetFlag(FLAGS_state));
  if (!states.ok()) return chtools::UsageError(states.status().message());
  options.states = *states;
  options.name_glob = absl::GetFlag(FLAGS_name);
  std::string format = absl::GetFlag(FLAGS_format);
  if (format.empty()) format = ::isatty(STDOUT_FILENO) ? "table" : "textproto";
  absl::StatusOr<vm_index::Format> parsed_format =
      vm_index::ParseFormat(format);
  if (!parsed_format.ok()) {
    return chtools::UsageError(parsed_format.status().message());
  }
  options.format = *parsed_format;
  options.repair = absl::GetFlag(FLAGS_repair);
  options.now = absl::Now();

  absl::StatusOr<chtools::ToolConfig> config =
      chtools::config::LoadToolConfig();
  if (!config.ok()) return chtools::ExitCode(config.status());
  options.config = *config;
  if (!options.config.no_seccomp()) {
    options.lock_down = [verb = options.verb] {
      return vm_index::BuildPolicy(verb).Apply();
    };
  }

  vm_index::Input input =
      chtools::cli::FromFd(STDIN_FILENO, ::isatty(STDIN_FILENO) == 1);
  vm_index::Output output;
  absl::Status status = vm_index::Run(options, input, &output);
  if (!status.ok()) return chtools::ExitCode(status);
  absl::Status written =
      chtools::fs::WriteAll(STDOUT_FILENO, output.text, "<stdout>");
  for (const std::string& error : output.errors) chtools::PrintError(error);
  if (!written.ok()) return chtools::ExitCode(written);
  return vm_index::ExitCodeOf(status, output);
}
