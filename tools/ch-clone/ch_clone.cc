#include "tools/ch-clone/ch_clone.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/errno.h"
#include "lib/base/interrupt.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"
#include "lib/cli/tool.h"
#include "lib/cli/values.h"
#include "lib/launch/ch_command.h"
#include "lib/vm/clone.h"

namespace ch_clone {
namespace {

using chtools::Vm;
using chtools::cli::Batch;

// SNAP | FILE | "-": "-" is stdin; a ref the store resolves is a snapshot of
// the store; else an existing file is an archive.
struct Source {
  chtools::vm::SnapshotSource src;
  chtools::UniqueFd file;
  std::string label;  // for error lines
};

absl::StatusOr<Source> OpenSource(const chtools::snapshot::Store& store,
                                  const std::string& arg, const Io& io) {
  Source s;
  s.src.store = &store;
  s.label = arg;
  if (arg == "-") {
    if (io.stdin_is_tty) {
      return chtools::UsageStatus(
          "\"-\" reads an archive from stdin, but stdin is a terminal");
    }
    s.src.archive_fd = io.stdin_fd;
    s.src.archive_name = "<stdin>";
    s.label = "<stdin>";
    return s;
  }
  absl::StatusOr<std::string> id = store.Resolve(arg);
  if (id.ok()) {
    s.src.id = *id;
    return s;
  }
  if (!absl::IsNotFound(id.status())) return id.status();
  struct stat st;
  if (::stat(arg.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat(
        "\"", arg, "\": neither a snapshot in the store nor an archive file"));
  }
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(arg, ": not a regular file or a pipe"));
  }
  s.file.reset(::open(arg.c_str(), O_RDONLY | O_CLOEXEC));
  if (!s.file.valid()) return chtools::ErrnoError(errno, "open", arg);
  s.src.archive_fd = s.file.get();
  s.src.archive_name = arg;
  return s;
}

}  // namespace

absl::StatusOr<Batch> Run(const chtools::vm::Env& env,
                          const chtools::snapshot::Store& store,
                          const Options& o, const Io& io) {
  if (o.args.size() != 1) {
    return chtools::UsageStatus(
        o.args.empty() ? "missing the snapshot (SNAP, an archive FILE, or - "
                         "for an archive on stdin)"
                       : "one snapshot at a time");
  }
  if (!o.restore.empty() &&
      (!o.name.empty() || !o.nics.empty() || !o.cpu.empty())) {
    return chtools::UsageStatus(
        "--restore keeps the VM's name, NICs and vCPUs: --name, --nic and "
        "--cpu are for clones");
  }
  chtools::vm::CloneOptions co;
  co.name = o.name;
  for (const std::string& spec : o.nics) {
    absl::StatusOr<chtools::NetworkConfig> nic =
        chtools::cli::ParseNicSpec(spec);
    if (!nic.ok()) return chtools::UsageStatus(nic.status().message());
    co.nics.push_back(*std::move(nic));
  }
  if (!o.cpu.empty()) {
    if (!absl::SimpleAtoi(o.cpu, &co.cpu) || co.cpu < 1 || co.cpu > 254) {
      return chtools::UsageStatus(
          absl::StrCat("--cpu ", o.cpu, ": expected 1..254"));
    }
  }
  ASSIGN_OR_RETURN(Source source, OpenSource(store, o.args[0], io));

  Batch b;
  // SIGINT/SIGTERM/SIGHUP roll the clone back instead of killing us.
  chtools::InterruptGuard guard;
  if (!o.restore.empty()) {
    absl::StatusOr<std::string> id = env.index->Resolve(o.restore);
    if (!id.ok()) {
      b.errors.push_back(
          chtools::cli::VmError(o.restore, "restore", id.status()));
      return b;
    }
    absl::StatusOr<Vm> vm = chtools::vm::RestoreVm(env, *id, source.src);
    if (vm.ok()) {
      *b.out.add_vm() = *std::move(vm);
    } else {
      b.errors.push_back(chtools::cli::VmError(
          o.restore, absl::StrCat("restore from ", source.label), vm.status()));
    }
    return b;
  }
  absl::StatusOr<Vm> vm = chtools::vm::CloneVm(env, source.src, co);
  if (vm.ok()) {
    *b.out.add_vm() = *std::move(vm);
  } else {
    b.errors.push_back(absl::StrCat("snapshot \"", source.label,
                                    "\": clone: ", vm.status().message()));
  }
  return b;
}

std::string Hints(const Vm& vm) {
  std::vector<std::string> l = {"", "Run inside the guest to finish setup:", "",
                                "  # Release memory for the balloon",
                                "  echo 3 > /proc/sys/vm/drop_caches"};
  if (!chtools::launch::IsDirectBoot(vm)) {
    l.insert(l.end(),
             {"", "  # Reconfigure the network for the new MACs via cloud-init",
              "  cloud-init clean --logs --seed --configs network && "
              "cloud-init init --local && cloud-init init",
              "  cloud-init modules --mode=config && systemctl restart "
              "systemd-networkd"});
  } else {
    l.insert(l.end(),
             {"", "  # Set the hostname",
              absl::StrCat("  hostnamectl set-hostname ", vm.config().name())});
  }
  l.push_back("");
  return absl::StrJoin(l, "\n") + "\n";
}

}  // namespace ch_clone
