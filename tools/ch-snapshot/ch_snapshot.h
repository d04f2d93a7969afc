// ch-snapshot's core: save (into the store, or straight into an archive),
// ls, get, rm, export, import over lib/vm's capture, lib/snapshot's store and
// lib/archive's safe reader and writer.
#ifndef CHTOOLS_TOOLS_CH_SNAPSHOT_CH_SNAPSHOT_H_
#define CHTOOLS_TOOLS_CH_SNAPSHOT_CH_SNAPSHOT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/cli/output.h"
#include "lib/cli/stream.h"
#include "lib/snapshot/store.h"
#include "lib/vm/env.h"

namespace ch_snapshot {

struct Options {
  std::string verb;               // save | ls | get | rm | export | import
  std::vector<std::string> args;  // refs (VMs for save, snapshots otherwise)
  std::string name;               // save: snapshot name
  std::string description;        // save: free text
  std::string output;             // save/export: -o FILE, "-" = stdout
  std::string vm;                 // ls: only snapshots of this VM (ref)
  bool zstd = false;              // save -o / export: --compress=zstd
  bool progress = false;          // progress lines on stderr (a terminal)
  // import: extract in a child under a seccomp policy (--no-seccomp: false).
  bool confine_import = true;
};

struct Io {
  chtools::cli::Stdin in;
  int stdout_fd = 1;
  bool stdout_is_tty = false;
};

// Runs one verb. Usage errors (chtools::UsageStatus) and bad input mean
// nothing was done. An archive written to stdout leaves batch.out empty (the
// stream is the output).
absl::StatusOr<chtools::cli::Batch> Run(const chtools::vm::Env& env,
                                        const chtools::snapshot::Store& store,
                                        const Options& options, const Io& io);

}  // namespace ch_snapshot

#endif  // CHTOOLS_TOOLS_CH_SNAPSHOT_CH_SNAPSHOT_H_
