#include "tools/vm-index/vm_index.h"

#include <fnmatch.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/base/status_macros.h"
#include "lib/cli/output.h"
#include "lib/cli/stream.h"
#include "lib/cli/tool.h"
#include "lib/fs/flock.h"
#include "lib/index/index.h"
#include "lib/process/ch_process.h"
#include "lib/record/textproto.h"
#include "lib/record/validate.h"
#include "lib/vm/env.h"
#include "lib/vm/lifecycle.h"
#include "lib/vm/op_lock.h"
#include "lib/vm/paths.h"
#include "lib/vm/trust.h"

namespace vm_index {
namespace {

using ::chtools::Records;
using ::chtools::ToolConfig;
using ::chtools::Vm;
using ::chtools::index::Index;

// The copy of `vm` that goes to stdout: "running" is what the process table
// says, not what the record claims. A live CH process adds pid and
// api_socket; a record claiming RUNNING without one shows as STOPPED (fsck
// reports the mismatch and --repair writes it back).
Vm Observe(const Vm& vm, const ToolConfig& config) {
  Vm out = vm;
  const chtools::vm::VmPaths p = chtools::vm::PathsFor(config, vm.id());
  absl::StatusOr<chtools::process::ChProcess> proc =
      chtools::process::FindChProcess(p.api_socket, p.pid_file,
                                      {p.cow_raw, p.overlay});
  if (proc.ok()) {
    out.set_pid(proc->pid());
    out.set_api_socket(p.api_socket);
    // ERROR stays ERROR while its CH lives (e.g. a VM left paused by a failed
    // resume): the record's error says why; `ch-launch start` or stop ends it.
    if (vm.state() != Vm::CREATING && vm.state() != Vm::ERROR &&
        vm.state() != Vm::DELETING) {
      out.set_state(Vm::RUNNING);
    }
  } else if (vm.state() == Vm::RUNNING) {
    out.set_state(Vm::STOPPED);
  }
  return out;
}

// Formats the output. When something failed and nothing succeeded, stdout
// stays empty (not even the stream header), so `a && b` pipelines see nothing.
absl::Status Emit(const Records& records, const Options& options,
                  Output* output) {
  if (!output->errors.empty() && records.vm_size() == 0 &&
      records.finding_size() == 0) {
    output->text.clear();
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(output->text, FormatOutput(records, options.format));
  return absl::OkStatus();
}

// Refs from argv, or ids/names of the vm records on stdin ("-", or no refs
// and stdin not a terminal).
absl::StatusOr<std::vector<std::string>> Refs(const Options& options,
                                              const Input& input) {
  return chtools::cli::RefsOrStream(options.verb, options.args, input);
}

// Resolves refs to ids in order, without duplicates; unresolvable refs become
// per-VM errors.
std::vector<std::string> ResolveAll(const Index& index,
                                    const std::vector<std::string>& refs,
                                    Output* output) {
  std::vector<std::string> ids;
  absl::flat_hash_set<std::string> seen;
  for (const std::string& ref : refs) {
    absl::StatusOr<std::string> id = index.Resolve(ref);
    if (!id.ok()) {
      output->errors.emplace_back(id.status().message());
      continue;
    }
    if (seen.insert(*id).second) ids.push_back(*id);
  }
  return ids;
}

absl::Status Ls(const Options& options, Index& index, Output* output) {
  ASSIGN_OR_RETURN(std::vector<Vm> vms, index.List());
  Records records;
  for (const Vm& vm : vms) {
    if (!options.name_glob.empty() &&
        ::fnmatch(options.name_glob.c_str(), vm.config().name().c_str(), 0) !=
            0) {
      continue;
    }
    Vm seen = Observe(vm, options.config);
    if (!options.states.empty() &&
        std::find(options.states.begin(), options.states.end(), seen.state()) ==
            options.states.end()) {
      continue;
    }
    *records.add_vm() = std::move(seen);
  }
  return Emit(records, options, output);
}

absl::Status Get(const Options& options, const Input& input, Index& index,
                 Output* output) {
  ASSIGN_OR_RETURN(std::vector<std::string> refs, Refs(options, input));
  Records records;
  for (const std::string& id : ResolveAll(index, refs, output)) {
    absl::StatusOr<Vm> vm = index.Get(id);
    if (!vm.ok()) {
      output->errors.emplace_back(vm.status().message());
      continue;
    }
    *records.add_vm() = Observe(*vm, options.config);
  }
  return Emit(records, options, output);
}

absl::Status Put(const Options& options, const Input& input, Index& index,
                 Output* output) {
  if (!options.args.empty() &&
      !(options.args.size() == 1 && options.args[0] == "-")) {
    return chtools::UsageStatus(
        "put takes no arguments: it reads a record stream from stdin");
  }
  ASSIGN_OR_RETURN(Records records, chtools::cli::ReadStream(input));
  if (records.snapshot_size() > 0 || records.finding_size() > 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        input.name, ": ", records.snapshot_size() > 0 ? "snapshot" : "finding",
        " records cannot be put: vm-index stores vm records only"));
  }
  // pid and api_socket describe a live process on output copies; they are
  // never stored, so a `get | put` round trip drops them.
  for (Vm& vm : *records.mutable_vm()) {
    vm.clear_pid();
    vm.clear_api_socket();
  }
  absl::Status valid = chtools::record::ValidateRecords(records);
  // Records are requests: the paths they name are checked against the
  // settings (no run dir but the derived one, no writable disk but the VM's).
  for (int i = 0; valid.ok() && i < records.vm_size(); ++i) {
    valid = chtools::vm::CheckRecordPaths(options.config, records.vm(i),
                                          absl::StrCat("vm[", i, "]"));
  }
  if (!valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(input.name, ": ", valid.message()));
  }
  std::vector<Vm> vms(records.vm().begin(), records.vm().end());
  RETURN_IF_ERROR(index.PutAll(vms));
  Records out;
  for (const Vm& vm : vms) {
    absl::StatusOr<Vm> stored = index.Get(vm.id());
    if (!stored.ok()) {
      output->errors.emplace_back(stored.status().message());
      continue;
    }
    *out.add_vm() = Observe(*stored, options.config);
  }
  return Emit(out, options, output);
}

absl::Status Rm(const Options& options, const Input& input, Index& index,
                Output* output) {
  ASSIGN_OR_RETURN(std::vector<std::string> refs, Refs(options, input));
  chtools::vm::Env env;
  env.config = options.config;
  env.index = &index;
  Records removed;
  for (const std::string& id : ResolveAll(index, refs, output)) {
    absl::StatusOr<Vm> vm = chtools::vm::ForgetVm(env, id);
    if (!vm.ok()) {
      absl::StatusOr<Vm> rec = index.Get(id);
      output->errors.push_back(chtools::cli::VmError(
          rec.ok() ? rec->config().name() : id, "rm", vm.status()));
      continue;
    }
    *removed.add_vm() = *std::move(vm);
  }
  return Emit(removed, options, output);
}

absl::Status Fsck(const Options& options, Index& index, Output* output) {
  if (!options.args.empty()) {
    return chtools::UsageStatus("fsck takes no arguments");
  }
  chtools::index::CheckContext ctx;
  ctx.vm_run_parent = chtools::vm::VmRunParent(options.config);
  ctx.vm_log_parent = chtools::vm::VmLogParent(options.config);
  ToolConfig config = options.config;
  ctx.is_alive = [config](const Vm& vm) {
    const chtools::vm::VmPaths p = chtools::vm::PathsFor(config, vm.id());
    return chtools::process::FindChProcess(p.api_socket, p.pid_file,
                                           {p.cow_raw, p.overlay})
        .ok();
  };
  // An operation in flight (its lock held) is never a finding: its dirs may
  // exist before its record does.
  ctx.is_busy = [config](absl::string_view id) {
    absl::StatusOr<std::optional<chtools::fs::FileLock>> l =
        chtools::vm::TryLockVm(config, id);
    return l.ok() && !l->has_value();
  };
  ctx.now = options.now;
  ASSIGN_OR_RETURN(std::vector<chtools::Finding> findings,
                   index.Check(options.repair, ctx));
  Records records;
  int unrepaired = 0;
  for (chtools::Finding& f : findings) {
    if (!f.repaired()) ++unrepaired;
    *records.add_finding() = std::move(f);
  }
  if (unrepaired > 0) {
    output->errors.push_back(absl::StrCat(
        "fsck: ", unrepaired, " problem", unrepaired == 1 ? "" : "s",
        options.repair ? " left that --repair cannot fix"
                       : " found (vm-index fsck --repair fixes what it can)"));
  }
  // A clean check prints no table at all (a header over nothing reads like
  // a listing of VMs); the text and JSON forms still print an empty stream.
  if (records.finding_size() == 0 && options.format == Format::kTable) {
    output->text.clear();
    return absl::OkStatus();
  }
  return Emit(records, options, output);
}

}  // namespace

absl::StatusOr<std::vector<Vm::State>> ParseStates(absl::string_view s) {
  std::vector<Vm::State> states;
  for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipEmpty())) {
    Vm::State state;
    std::string upper = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(part));
    if (upper == "STATE_UNSPECIFIED" || !Vm::State_Parse(upper, &state)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--state: unknown state \"", part,
                       "\" (expected creating, created, running, stopped, "
                       "error or deleting)"));
    }
    states.push_back(state);
  }
  return states;
}

int ExitCodeOf(const absl::Status& status, const Output& output) {
  if (!status.ok()) {
    return chtools::IsUsageStatus(status) ? chtools::kExitUsage
                                          : chtools::kExitFailed;
  }
  return output.errors.empty() ? chtools::kExitOk : chtools::kExitFailed;
}

absl::Status Run(const Options& options, const Input& input, Output* output) {
  *output = Output();
  const std::string& verb = options.verb;
  if (verb != "ls" && verb != "get" && verb != "put" && verb != "rm" &&
      verb != "fsck") {
    return chtools::UsageStatus(
        verb.empty() ? "missing verb: ls, get, put, rm or fsck"
                     : absl::StrCat("unknown verb \"", verb,
                                    "\": expected ls, get, put, rm or fsck"));
  }
  if (verb != "ls" && (!options.states.empty() || !options.name_glob.empty())) {
    return chtools::UsageStatus("--state and --name apply to ls only");
  }
  if (verb != "fsck" && options.repair) {
    return chtools::UsageStatus("--repair applies to fsck only");
  }
  if (verb == "ls" && !options.args.empty()) {
    return chtools::UsageStatus(
        absl::StrCat("ls takes no arguments (got \"", options.args[0],
                     "\"); filter with --state and --name, or use get REF"));
  }
  // Usage errors first, so they exit 2 whatever the state of the root dir.
  if ((verb == "get" || verb == "rm") && options.args.empty() && input.is_tty) {
    return chtools::UsageStatus(absl::StrCat(
        verb,
        " needs at least one REF (id, name or id prefix) or a record stream "
        "on stdin"));
  }
  if (verb == "put" && !options.args.empty() &&
      !(options.args.size() == 1 && options.args[0] == "-")) {
    return chtools::UsageStatus(
        "put takes no arguments: it reads a record stream from stdin");
  }
  if (verb == "put" && input.is_tty) {
    return chtools::UsageStatus(
        "put reads a record stream from stdin, which is a terminal: pipe or "
        "redirect one (vm-index put < vms.txtpb)");
  }
  if (verb == "fsck" && !options.args.empty()) {
    return chtools::UsageStatus("fsck takes no arguments");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Index> index,
                   Index::Open(options.config.root_dir()));
  if (options.lock_down) RETURN_IF_ERROR(options.lock_down());
  if (verb == "ls") return Ls(options, *index, output);
  if (verb == "get") return Get(options, input, *index, output);
  if (verb == "put") return Put(options, input, *index, output);
  if (verb == "rm") return Rm(options, input, *index, output);
  return Fsck(options, *index, output);
}

}  // namespace vm_index
