// ch-clone's core: clone a snapshot (from the store, an archive file or an
// archive on stdin) into a new running VM, or restore a VM to one of its
// snapshots, over lib/vm's clone.h.
#ifndef CHTOOLS_TOOLS_CH_CLONE_CH_CLONE_H_
#define CHTOOLS_TOOLS_CH_CLONE_CH_CLONE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/cli/output.h"
#include "lib/snapshot/store.h"
#include "lib/vm/env.h"

namespace ch_clone {

struct Options {
  std::vector<std::string> args;  // SNAP, FILE or "-" (one)
  std::string restore;            // --restore VM
  std::string name;               // --name
  std::vector<std::string> nics;  // --nic, repeatable
  std::string cpu;                // --cpu
};

struct Io {
  int stdin_fd = 0;
  bool stdin_is_tty = false;
};

// Runs one clone or restore. Usage errors (chtools::UsageStatus) mean nothing
// was done; a failed clone or restore is an error line in the batch.
absl::StatusOr<chtools::cli::Batch> Run(const chtools::vm::Env& env,
                                        const chtools::snapshot::Store& store,
                                        const Options& options, const Io& io);

// cocoon's post-clone hints (docs/cocoon-lessons.md §4.7), for a terminal.
std::string Hints(const chtools::Vm& clone);

}  // namespace ch_clone

#endif  // CHTOOLS_TOOLS_CH_CLONE_CH_CLONE_H_
