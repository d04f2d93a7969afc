#include "tools/ch-launch/ch_launch.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "lib/base/interrupt.h"
#include "lib/base/status_macros.h"
#include "lib/cli/tool.h"
#include "lib/vm/create.h"
#include "lib/vm/lifecycle.h"

namespace ch_launch {
namespace {

using chtools::Vm;
using chtools::cli::Batch;
using chtools::cli::VmError;

absl::StatusOr<Batch> Create(const chtools::vm::Env& env, const Options& o,
                             const chtools::cli::Stdin& in) {
  std::vector<Vm> inputs;
  if (o.create.Any()) {
    if (!o.args.empty()) {
      return chtools::UsageStatus(
          "create takes flags or a record stream, not refs");
    }
    absl::StatusOr<Vm> vm = VmFromFlags(o.create);
    if (!vm.ok()) return chtools::UsageStatus(vm.status().message());
    inputs.push_back(*vm);
  } else {
    ASSIGN_OR_RETURN(bool stream,
                     chtools::cli::WantsStream("create", o.args, in));
    if (!stream) {
      return chtools::UsageStatus(
          o.args.empty() ? "create needs --name and boot flags, or a record "
                           "stream on stdin"
                         : "create takes flags or a record stream, not refs");
    }
    ASSIGN_OR_RETURN(chtools::Records records, chtools::cli::ReadStream(in));
    inputs.assign(records.vm().begin(), records.vm().end());
  }
  Batch b;
  // SIGINT/SIGTERM/SIGHUP roll the VM under way back instead of killing us.
  chtools::InterruptGuard guard;
  for (Vm& input : inputs) {
    std::string name = input.config().name();
    absl::Status stop = chtools::InterruptStatus("create");
    absl::StatusOr<Vm> vm = stop.ok()
                                ? chtools::vm::CreateVm(env, std::move(input))
                                : absl::StatusOr<Vm>(stop);
    if (vm.ok()) {
      *b.out.add_vm() = *std::move(vm);
    } else {
      b.errors.push_back(VmError(name, "create", vm.status()));
    }
  }
  return b;
}

}  // namespace

absl::StatusOr<Batch> Run(const chtools::vm::Env& env, const Options& o,
                          const chtools::cli::Stdin& in) {
  if (o.command == "create") return Create(env, o, in);
  if (o.command != "start" && o.command != "stop" && o.command != "rm" &&
      o.command != "debug") {
    return chtools::UsageStatus(
        absl::StrCat("unknown command \"", o.command,
                     "\" (create, start, stop, rm, debug)"));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> refs,
                   chtools::cli::RefsOrStream(o.command, o.args, in));
  const absl::Duration timeout =
      o.timeout ? *o.timeout
                : absl::Seconds(env.config.stop_timeout_seconds() > 0
                                    ? env.config.stop_timeout_seconds()
                                    : 30);
  Batch b;
  std::set<std::string> seen;
  for (const std::string& ref : refs) {
    absl::StatusOr<std::string> id = env.index->Resolve(ref);
    if (!id.ok()) {
      b.errors.push_back(VmError(ref, "resolve", id.status()));
      continue;
    }
    if (!seen.insert(*id).second) continue;
    absl::StatusOr<Vm> rec = env.index->Get(*id);
    const std::string name = rec.ok() ? rec->config().name() : ref;
    if (o.command == "debug") {
      absl::StatusOr<std::string> cmd = chtools::vm::DebugVm(env, *id);
      if (cmd.ok()) {
        b.text.push_back(*cmd);
      } else {
        b.errors.push_back(VmError(name, o.command, cmd.status()));
      }
      continue;
    }
    absl::StatusOr<Vm> vm;
    if (o.command == "start") {
      vm = chtools::vm::StartVm(env, *id);
    } else if (o.command == "stop") {
      vm = chtools::vm::StopVm(env, *id, timeout);
    } else {
      vm = chtools::vm::RemoveVm(env, *id, o.force, timeout);
    }
    if (vm.ok()) {
      *b.out.add_vm() = *std::move(vm);
    } else {
      b.errors.push_back(VmError(name, o.command, vm.status()));
    }
  }
  return b;
}

}  // namespace ch_launch
