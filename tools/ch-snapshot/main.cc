// ch-snapshot: capture running VMs into a verified snapshot store or a
// sparse tar stream; list, inspect, remove, export and import snapshots.
//
// stdin:  save: refs of VMs on argv, or a Records stream of vm records;
//         get/rm: snapshot refs, or a stream of snapshot records;
//         import: an archive ("-" or no FILE).
// stdout: the snapshot records saved, listed, got, removed, exported or
//         imported, written once at the end; `save -o -` and `export -o -`
//         write the archive itself instead.
// Exit:   0 all ok; 1 any failed (the others are still printed; a VM that
//         could not be resumed is marked ERROR); 2 usage error; 128+N when
//         signal N interrupted a save (the VM is resumed first).
//
// Example:
//   ch-snapshot save web -o - | ssh b ch-snapshot import
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "lib/base/interrupt.h"
#include "lib/cli/format.h"
#include "lib/cli/output.h"
#include "lib/cli/stream.h"
#include "lib/cli/tool.h"
#include "lib/config/config.h"
#include "lib/index/index.h"
#include "lib/snapshot/store.h"
#include "lib/vm/env.h"
#include "lib/vm/host.h"
#include "tools/ch-snapshot/ch_snapshot.h"
#include "tools/ch-snapshot/policy.h"

ABSL_FLAG(std::string, name, "",
          "save: snapshot name (unique; not an id or id prefix).");
ABSL_FLAG(std::string, description, "", "save: free text.");
ABSL_FLAG(std::string, o, "",
          "save/export: write an archive to FILE (\"-\": stdout).");
ABSL_FLAG(std::string, vm, "",
          "ls: only snapshots of this VM (id, name or id prefix).");
ABSL_FLAG(std::string, compress, "none", "Archives: none or zstd.");
ABSL_FLAG(std::string, format, "",
          "Records out: textproto, table or json (default: table on a "
          "terminal, textproto "
          "otherwise).");

namespace {

constexpr char kUsage[] = R"(ch-snapshot: snapshots of running VMs.

Usage:
  ch-snapshot save REF... [--name N] [--description D]   into the store
  ch-snapshot save REF -o FILE|- [--compress=zstd]       into an archive only
  ch-snapshot ls [--vm REF] [--format=table|textproto|json]
  ch-snapshot get|rm SNAP...                             (or a record stream)
  ch-snapshot export SNAP -o FILE|- [--compress=zstd]
  ch-snapshot import [FILE|-]

save pauses the VM, has CH write its state, copies the VM's disk while it is
paused (a reflink where the filesystem can), resumes it, then verifies and
publishes the snapshot (a SHA-256 per file). Archives are POSIX pax tars with
sparse entries, readable by bsdtar; import checks everything before a
snapshot appears. Exit: 0 ok, 1 some failed, 2 usage error.

Seccomp: import parses the archive in a child process under an allow-list
(lib/sandbox; x86_64): it may read the archive, create new files in the
private staging dir (O_CREAT|O_EXCL|O_NOFOLLOW on that dir's fd), write,
resize, sync and remove them, and report to its parent; anything else kills
it with SIGSYS and the import fails. The other verbs load an allow-list once
the index and the store are open: files (read, create, rename, remove,
reflink, copy_file_range), locks, AF_UNIX sockets (CH's API), pidfds, their
own signal handlers, clocks; network sockets, exec, signals to other
processes and executable memory kill ch-snapshot with SIGSYS. --no-seccomp
(or CHTOOLS_NO_SECCOMP=1) turns both off, for debugging.

Example:
  ch-snapshot save web -o - | ssh b ch-snapshot import
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args = chtools::InitTool(kUsage, argc, argv);
  if (args.empty())
    return chtools::UsageError(
        "missing verb (save, ls, get, rm, export, import)");
  ch_snapshot::Options o;
  o.verb = args[0];
  o.args.assign(args.begin() + 1, args.end());
  o.name = absl::GetFlag(FLAGS_name);
  o.description = absl::GetFlag(FLAGS_description);
  o.output = absl::GetFlag(FLAGS_o);
  o.vm = absl::GetFlag(FLAGS_vm);
  const std::string compress = absl::GetFlag(FLAGS_compress);
  if (compress != "none" && compress != "zstd") {
    return chtools::UsageError(
        absl::StrCat("--compress=", compress, ": expected none or zstd"));
  }
  o.zstd = compress == "zstd";
  o.progress = ::isatty(STDERR_FILENO) == 1;
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

  o.confine_import = !config->no_seccomp();

  chtools::vm::Env env;
  env.config = *config;
  env.host = chtools::vm::ReadHostFacts();
  env.index = index->get();
  // Set up: from here on refs, record streams and CH's answers are read.
  // import's parent renames and publishes; its archive parser runs confined
  // in a child (lib/archive/confined_reader.h).
  if (!config->no_seccomp() && o.verb != "import") {
    if (absl::Status s = ch_snapshot::BuildPolicy().Apply(); !s.ok()) {
      return chtools::ExitCode(s);
    }
  }
  ch_snapshot::Io io{
      .in = chtools::cli::FromFd(STDIN_FILENO, ::isatty(STDIN_FILENO) == 1),
      .stdout_fd = STDOUT_FILENO,
      .stdout_is_tty = ::isatty(STDOUT_FILENO) == 1};
  absl::StatusOr<chtools::cli::Batch> batch =
      ch_snapshot::Run(env, **store, o, io);
  if (!batch.ok()) return chtools::ExitCode(batch.status());
  chtools::cli::Sink out(STDOUT_FILENO);
  int rc = chtools::cli::Finish(*batch, out, *format);
  if (int sig = chtools::InterruptSignal(); sig != 0) return 128 + sig;
  return rc;
}
