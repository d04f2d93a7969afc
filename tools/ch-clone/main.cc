// ch-clone: a running VM from a snapshot (a clone), or a VM put back to one
// of its snapshots (--restore).
//
// stdin:  an archive (ch-snapshot save -o - / export -o -) when SNAP is "-".
// stdout: the vm record of the clone or the restored VM (RUNNING, with pid
//         and api_socket), written once at the end.
// Exit:   0 ok; 1 failed (nothing is left of a failed clone; a failed
//         restore leaves the VM stopped on its previous disk); 2 usage error;
//         128+N when signal N interrupted it (rolled back first).
//
// Example:
//   ch-snapshot save web -o - | ssh b ch-clone - --nic tap=tap0,netns=web2
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "lib/base/interrupt.h"
#include "lib/cli/format.h"
#include "lib/cli/output.h"
#include "lib/cli/repeated.h"
#include "lib/cli/tool.h"
#include "lib/config/config.h"
#include "lib/index/index.h"
#include "lib/snapshot/store.h"
#include "lib/vm/env.h"
#include "lib/vm/host.h"
#include "tools/ch-clone/ch_clone.h"

ABSL_FLAG(std::string, name, "",
          "Clone: the new VM's name (default <source name>-<id[:6]>).");
ABSL_FLAG(std::string, cpu, "",
          "Clone: vCPUs, at least the snapshot's; more grow the VM through "
          "vm.resize within the headroom it was created with.");
ABSL_FLAG(std::string, restore, "",
          "Restore this VM (id, name or id prefix) to the snapshot instead of "
          "cloning.");
ABSL_FLAG(std::string, format, "",
          "Records out: textproto, table or json (default: table on a "
          "terminal, textproto otherwise).");

namespace {

constexpr char kUsage[] = R"(ch-clone: running VMs from snapshots.

Usage:
  ch-clone SNAP|FILE|- [--name N] [--nic tap=T[,mac=M][,netns=NS][,ip=A/NN[,gw=G]]]... [--cpu N]
  ch-clone --restore VM SNAP|FILE|-

SNAP is a snapshot of the store (id, name or id prefix); FILE or - (stdin) is
an archive from `ch-snapshot save -o` / `export -o`, checked and extracted
into the clone's private run dir before anything else happens.

A clone is a new VM: the snapshot's RAM and disk (RAM hard-linked from the
store, the disk reflinked or sparse-copied), its config.json rewritten and
confined to the clone's own files, CH restored from it, the snapshot's NICs
swapped for the clone's (new MACs, on the clone's taps; give one --nic per
snapshot NIC at least), cidata regenerated for cloud images, then resumed.
Resources are the snapshot's (--cpu may add vCPUs up to its max_vcpus).

--restore puts VM back to one of its own snapshots: everything is staged and
checked first, then the VM is stopped and its disk set aside until the
restored VM runs; on failure the previous disk is put back and the VM is left
stopped. Exit: 0 ok, 1 failed, 2 usage error.

Seccomp: an archive (FILE or -) is parsed in a child process under an
allow-list (lib/sandbox; x86_64), as by ch-snapshot import: it may read the
archive, create new files in the clone's private staging dir
(O_CREAT|O_EXCL|O_NOFOLLOW on that dir's fd), write, resize, sync and
remove them, and report to its parent; anything else kills it with SIGSYS
and the clone fails, leaving nothing. The snapshot's config.json and
state.json (from an archive or the store) are parsed and rewritten in two
more children that may only use memory and write their answer to a pipe
(lib/vm/snapshot_json.h). ch-clone itself runs CH (and qemu-img for cloud
images) and a filter survives execve, so the rest of it is not confined.
--no-seccomp (or CHTOOLS_NO_SECCOMP=1, or no_seccomp: true in the config
file) parses in process, for debugging.

Examples:
  ch-clone base-snap --name web-2 --nic tap=tap0,netns=web2 | ch-console - --timeout 5s
  ch-snapshot save web -o - | ssh b ch-clone - --nic tap=tap0,netns=web2
  ch-clone --restore web before-upgrade
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> nics;
  bool missing = false;
  std::vector<char*> rest =
      chtools::cli::TakeRepeated(argc, argv, {{"nic", &nics}}, missing);
  std::vector<std::string> args =
      chtools::InitTool(kUsage, static_cast<int>(rest.size()), rest.data());
  if (missing) return chtools::UsageError("--nic needs a value");
  ch_clone::Options o;
  o.args = args;
  o.name = absl::GetFlag(FLAGS_name);
  o.cpu = absl::GetFlag(FLAGS_cpu);
  o.restore = absl::GetFlag(FLAGS_restore);
  o.nics = nics;
  std::string format_flag = absl::GetFlag(FLAGS_format);
  if (format_flag.empty())
    format_flag = ::isatty(STDOUT_FILENO) ? "table" : "textproto";
  absl::StatusOr<chtools::cli::Format> format =
      chtools::cli::ParseFormat(format_flag);
  if (!format.ok()) return chtools::UsageError(format.status().message());

  absl::StatusOr<chtools::ToolConfig> config =
      chtools::config::LoadToolConfig();
  if (!config.ok()) return chtools::ExitCode(config.status());
  absl::StatusOr<std::unique_ptr<chtools::index::Index>> index =
      chtools::index::Index::Open(config->root_dir());
  if (!index.ok()) return chtools::ExitCode(index.status());
  absl::StatusOr<std::unique_ptr<chtools::snapshot::Store>> store =
      chtools::snapshot::Store::Open(config->root_dir());
  if (!store.ok()) return chtools::ExitCode(store.status());

  chtools::vm::Env env;
  env.config = *config;
  env.host = chtools::vm::ReadHostFacts();
  env.index = index->get();
  ch_clone::Io io{.stdin_fd = STDIN_FILENO,
                  .stdin_is_tty = ::isatty(STDIN_FILENO) == 1};
  absl::StatusOr<chtools::cli::Batch> batch =
      ch_clone::Run(env, **store, o, io);
  if (!batch.ok()) return chtools::ExitCode(batch.status());
  chtools::cli::Sink out(STDOUT_FILENO);
  int rc = chtools::cli::Finish(*batch, out, *format);
  if (o.restore.empty() && batch->out.vm_size() == 1 &&
      ::isatty(STDERR_FILENO) == 1) {
    std::fputs(ch_clone::Hints(batch->out.vm(0)).c_str(), stderr);
  }
  if (int sig = chtools::InterruptSignal(); sig != 0) return 128 + sig;
  return rc;
}
