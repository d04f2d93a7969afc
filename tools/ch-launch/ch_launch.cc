#include "tools/ch-launch/ch_launch.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/cli.h"
#include "lib/record/textproto.h"
#include "tools/ch-launch/files.h"
#include "tools/ch-launch/lifecycle.h"

namespace ch_launch {
namespace {

using chtools::Vm;

std::string VmError(absl::string_view name, absl::string_view op, const absl::Status& s) {
  // Index errors already start with `vm "<name>": `.
  if (absl::StartsWith(s.message(), "vm \"")) return std::string(s.message());
  return absl::StrCat("vm \"", name, "\": ", op, ": ", s.message());
}

// The records of the stream on stdin.
absl::StatusOr<chtools::Records> ReadStream(int fd) {
  return chtools::record::ReadRecords(fd, "<stdin>");
}

}  // namespace

Result Run(const Env& env, const Options& o, int stdin_fd, bool stdin_is_tty) {
  Result r;
  const bool from_stream = (o.args.empty() && !stdin_is_tty) ||
                           (o.args.size() == 1 && o.args[0] == "-");
  if (o.command == "create") {
    std::vector<Vm> inputs;
    if (o.create.Any()) {
      if (!o.args.empty()) {
        r.usage = chtools::UsageStatus("create takes flags or a record stream, not refs");
        return r;
      }
      absl::StatusOr<Vm> vm = VmFromFlags(o.create);
      if (!vm.ok()) {
        r.usage = chtools::UsageStatus(vm.status().message());
        return r;
      }
      inputs.push_back(*vm);
    } else if (from_stream) {
      absl::StatusOr<chtools::Records> in = ReadStream(stdin_fd);
      if (!in.ok()) {
        r.usage = chtools::UsageStatus(in.status().message());
        return r;
      }
      inputs.assign(in->vm().begin(), in->vm().end());
    } else {
      r.usage = chtools::UsageStatus(
          "create needs --name and boot flags, or a record stream on stdin");
      return r;
    }
    for (Vm& in : inputs) {
      std::string name = in.config().name();
      absl::StatusOr<Vm> vm = CreateVm(env, std::move(in));
      if (vm.ok()) {
        *r.out.add_vm() = *vm;
      } else {
        r.errors.push_back(VmError(name, "create", vm.status()));
      }
    }
    return r;
  }

  if (o.command != "start" && o.command != "stop" && o.command != "rm" &&
      o.command != "debug") {
    r.usage = chtools::UsageStatus(
        absl::StrCat("unknown command \"", o.command, "\" (create, start, stop, rm, debug)"));
    return r;
  }
  std::vector<std::string> refs;
  if (from_stream) {
    absl::StatusOr<chtools::Records> in = ReadStream(stdin_fd);
    if (!in.ok()) {
      r.usage = chtools::UsageStatus(in.status().message());
      return r;
    }
    for (const Vm& v : in->vm()) refs.push_back(v.id().empty() ? v.config().name() : v.id());
  } else if (o.args.empty()) {
    r.usage = chtools::UsageStatus(absl::StrCat(o.command, " needs VM refs or a record stream"));
    return r;
  } else {
    refs = o.args;
  }
  const absl::Duration timeout =
      o.timeout ? *o.timeout
                : absl::Seconds(env.config.stop_timeout_seconds() > 0
                                    ? env.config.stop_timeout_seconds() : 30);
  std::set<std::string> seen;
  for (const std::string& ref : refs) {
    absl::StatusOr<std::string> id = env.index->Resolve(ref);
    if (!id.ok()) {
      r.errors.push_back(VmError(ref, "resolve", id.status()));
      continue;
    }
    if (!seen.insert(*id).second) continue;
    absl::StatusOr<Vm> rec = env.index->Get(*id);
    std::string name = rec.ok() ? rec->config().name() : ref;
    absl::StatusOr<Vm> vm;
    // One start/stop/rm of a VM at a time (held until this VM is done).
    chtools::UniqueFd lock;
    if (o.command != "debug" && rec.ok()) {
      absl::Status s = absl::OkStatus();
      if (o.command == "start") s = MakeDirs(rec->run_dir(), 0750);
      absl::StatusOr<chtools::UniqueFd> l =
          s.ok() ? LockRunDir(rec->run_dir(), timeout + absl::Minutes(1))
                 : absl::StatusOr<chtools::UniqueFd>(s);
      if (!l.ok()) {
        r.errors.push_back(VmError(name, o.command, l.status()));
        continue;
      }
      lock = *std::move(l);
    }
    if (o.command == "start") {
      vm = StartVm(env, *id);
    } else if (o.command == "stop") {
      vm = StopVm(env, *id, timeout);
    } else if (o.command == "rm") {
      vm = RemoveVm(env, *id, o.force, timeout);
    } else {
      absl::StatusOr<std::string> cmd = DebugVm(env, *id);
      if (cmd.ok()) {
        r.text.push_back(*cmd);
      } else {
        r.errors.push_back(VmError(name, o.command, cmd.status()));
      }
      continue;
    }
    if (vm.ok()) {
      *r.out.add_vm() = *vm;
    } else {
      r.errors.push_back(VmError(name, o.command, vm.status()));
    }
  }
  return r;
}

}  // namespace ch_launch
