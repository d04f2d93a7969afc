// The snapshot side of a clone or restore (clone.h): a snapshot's files read
// and checked, from the store or an archive, and its config.json and
// state.json planned and rewritten for the target VM. Internal to
// lib/vm/clone.cc.
#ifndef CHTOOLS_LIB_VM_CLONE_SOURCE_H_
#define CHTOOLS_LIB_VM_CLONE_SOURCE_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/base/unique_fd.h"
#include "lib/record/records.pb.h"
#include "lib/snapshot/store.h"
#include "lib/vm/ch_config.h"
#include "lib/vm/env.h"
#include "lib/vm/paths.h"
#include "lib/vm/snapshot_json.h"

namespace chtools::vm::clone_internal {

// The last component of `p` (all of it when it has no '/').
std::string Basename(absl::string_view p);

// A directory, opened without following a symlink.
absl::StatusOr<UniqueFd> OpenDir(const std::string& path);

// Whether the snapshot's manifest lists `name`.
bool HasFile(const Snapshot& s, absl::string_view name);

// What the snapshot's files are, wherever they are.
struct SnapshotFiles {
  Snapshot record;
  UniqueFd dirfd;   // the store's dir, or the staging dir
  std::string dir;  // its path (source_url of vm.restore when staged)
  std::string config_text, state_text;
  ChConfig config;
};

// Reads and checks a published snapshot in the store: its record, each
// listed file's type and size, config.json and state.json (parsed in a
// confined child unless the settings say no_seccomp, snapshot_json.h), and
// memory-ranges against the RAM state.json describes.
absl::StatusOr<SnapshotFiles> FromStore(const Env& env,
                                        const snapshot::Store& store,
                                        absl::string_view id);

// Extracts an archive into `dir` (made by the caller, private; the archive
// parsed in a confined child unless no_seccomp) and reads and checks it as
// FromStore does.
absl::StatusOr<SnapshotFiles> FromArchive(const Env& env, int archive_fd,
                                          const std::string& archive_name,
                                          const std::string& dir);

// The boot files config.json names must be the snapshot record's.
absl::Status CheckPayload(const SnapshotFiles& f);

// How each disk of config.json maps onto the target VM's files.
struct DiskPlan {
  std::vector<std::string> paths;      // config.json order
  std::vector<StorageConfig> storage;  // the record's storage
  std::string writable_file;           // cow.raw / overlay.qcow2
  bool had_cidata = false;
  std::set<std::string> ro_files;  // allowed read-only files
};

// Where each disk of config.json goes for the VM of `p`: the one writable
// disk to its cow.raw / overlay.qcow2, cidata to its own, read-only disks
// kept if the snapshot's record lists them. InvalidArgument naming
// `config.json: disks[i]` otherwise.
absl::StatusOr<DiskPlan> PlanDisks(const SnapshotFiles& f, const VmPaths& p);

// config.json and state.json for the VM of `p`, its disks per `disks`, the
// snapshot's NICs on `taps` (confined as FromStore).
absl::StatusOr<RewrittenJson> Rewrite(const Env& env, const SnapshotFiles& f,
                                      const DiskPlan& disks, const VmPaths& p,
                                      const std::vector<std::string>& taps);

}  // namespace chtools::vm::clone_internal

#endif  // CHTOOLS_LIB_VM_CLONE_SOURCE_H_
