// ch-gc's core: the plan of what nothing references (findings), carrying it
// out under the same locks every operation takes, and the image blobs pinned
// by VMs and snapshots. Paths come from the settings and ids only.
#ifndef CHTOOLS_TOOLS_CH_GC_CH_GC_H_
#define CHTOOLS_TOOLS_CH_GC_CH_GC_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/index/index.h"
#include "lib/record/records.pb.h"
#include "lib/snapshot/store.h"

namespace ch_gc {

// The finding kinds of a plan (Finding.kind), in the order they are
// collected:
//   orphan-ch            the CH of a VM with no record (FindChProcess on the
//                        derived api.sock / ch.pid): SIGTERM, then SIGKILL,
//                        through a pidfd. path: its api.sock.
//   orphan-run-dir       <run>/cloudhypervisor/<id> with no record.
//   orphan-log-dir       <log>/cloudhypervisor/<id> with no record.
//   stale-creating       a CREATING placeholder whose updated_at is older
//                        than the grace period: its dirs, record and name.
//   stale-socket         api.sock / console.sock of a VM with no live CH.
//   stale-pid-file       ch.pid of a VM with no live CH.
//   dangling-name        a name link to a VM whose record does not carry it.
//   snapshot-temp        a snapshot store temp dir (.tmp-<id>) older than the
//                        grace period (a save or import that died).
//   snapshot-rm-leftover a removal leftover (.rm-<id>) older than the grace.
//   orphan-snapshot-dir  a published <id>/ without snapshot.txtpb.
//   snapshot-data-gone   a snapshot whose record lists a file that is gone.
inline constexpr const char* kKinds[] = {
    "orphan-ch",           "orphan-run-dir",    "orphan-log-dir",
    "stale-creating",      "stale-socket",      "stale-pid-file",
    "dangling-name",       "snapshot-temp",     "snapshot-rm-leftover",
    "orphan-snapshot-dir", "snapshot-data-gone"};

struct Options {
  // What is younger than this is never collected (placeholders, temp dirs).
  absl::Duration grace = absl::Hours(24);
  // "Now" for the ages; tests inject it.
  absl::Time now = absl::Now();
  // A dry run takes no lock it would have to create (an absent lock file
  // means no operation holds it) and removes nothing.
  bool dry_run = false;
  // SIGTERM to SIGKILL for an orphan CH.
  absl::Duration term_grace = absl::Seconds(5);
};

struct Plan {
  // One finding per thing to remove, in the order of kKinds per VM.
  std::vector<chtools::Finding> findings;
  // Things left alone because an operation holds their lock ("busy").
  std::vector<std::string> skipped;
  // Things that cannot be judged (a process serves a VM's socket but cannot
  // be proven to be its CH) or whose removal would take a file another VM's
  // record names (disk, kernel, initrd, firmware): left alone, and the run
  // fails (exit 1).
  std::vector<std::string> errors;
};

// Everything the stores and dirs of `config` hold that nothing references.
// Each VM is judged under its operation lock (TryLockVm: busy = skipped,
// never waited for) and the snapshot store under its lock. Fails closed: any
// index, record or dir that cannot be read is an error and no plan results.
absl::StatusOr<Plan> MakePlan(const chtools::ToolConfig& config,
                              chtools::index::Index& index,
                              const chtools::snapshot::Store& store,
                              const Options& options);

struct Outcome {
  std::vector<std::string> skipped;  // busy or changed since the plan
  std::vector<std::string> errors;   // removals that failed
};

// Carries out exactly `plan` (nothing it does not list), each finding
// re-checked under its lock first; sets repaired on the findings removed.
// A finding whose lock is busy now, or whose condition no longer holds, is
// skipped (and said so).
Outcome Collect(const chtools::ToolConfig& config, chtools::index::Index& index,
                const chtools::snapshot::Store& store, Plan& plan,
                const Options& options);

// The union of the image blob ids pinned by VM records (CREATING ones
// included) and snapshots, sorted, each with what pins it (`vm "web"
// (<id>)`, `snapshot "s1" (<id>)`). Fails closed like MakePlan: an
// unreadable record or snapshot record is an error.
absl::StatusOr<std::map<std::string, std::vector<std::string>>> Pins(
    chtools::index::Index& index, const chtools::snapshot::Store& store);

}  // namespace ch_gc

#endif  // CHTOOLS_TOOLS_CH_GC_CH_GC_H_
