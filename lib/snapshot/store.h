// The snapshot store: <root>/cloudhypervisor/snapshots/<id>/ holds CH's files
// (config.json, state.json, memory-ranges), the VM's disk copy and the
// snapshot record (snapshot.txtpb, with the file manifest). A snapshot is
// built in a private temp dir (.tmp-<id>, owner-only) and published by one
// rename; removal renames it away (.rm-<id>) before deleting. So a crash at
// any point leaves either a complete snapshot or nothing List() shows: temp
// and removal leftovers are ch-gc's.
#ifndef CHTOOLS_LIB_SNAPSHOT_STORE_H_
#define CHTOOLS_LIB_SNAPSHOT_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/base/unique_fd.h"
#include "lib/record/records.pb.h"

namespace chtools::snapshot {

// The record's file name inside a snapshot dir.
inline constexpr absl::string_view kRecordFile = "snapshot.txtpb";

// A private directory a snapshot is built in; removed (with what it holds)
// when the object goes away unless it was published.
class TempDir {
 public:
  TempDir(std::string path, UniqueFd fd)
      : path_(std::move(path)), fd_(std::move(fd)) {}
  TempDir(TempDir&&) = default;
  TempDir& operator=(TempDir&&) = default;
  ~TempDir();
  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }
  void Release() { path_.clear(); }  // published: nothing to remove

 private:
  std::string path_;
  UniqueFd fd_;
};

class Store {
 public:
  // Opens (creating, owner-only) the store under `root_dir`.
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      absl::string_view root_dir);

  const std::string& dir() const { return dir_; }
  std::string DirOf(absl::string_view id) const {
    return dir_ + "/" + std::string(id);
  }

  // Every published snapshot, sorted by creation time then id. A dir whose
  // record cannot be read is skipped (ch-gc reports it).
  absl::StatusOr<std::vector<Snapshot>> List() const;
  // ref = id | name | unique id prefix (>= 3 chars). NotFound
  // `snapshot "x": not found`; FailedPrecondition when ambiguous.
  absl::StatusOr<std::string> Resolve(absl::string_view ref) const;
  // The record of `id` (data_dir set to its dir). NotFound.
  absl::StatusOr<Snapshot> Get(absl::string_view id) const;

  // A fresh private temp dir for snapshot `id`. AlreadyExists if `id` is
  // taken (published, or being built).
  absl::StatusOr<TempDir> NewTemp(absl::string_view id) const;

  // Publishes `temp` as `record` (whose files must already be in it, their
  // manifest filled in): under the store lock, refuses a name already used
  // or one that equals or prefixes an existing snapshot id (AlreadyExists),
  // writes snapshot.txtpb, fsyncs the files and the dir, renames it to <id>.
  // Returns the record as published (data_dir set).
  absl::StatusOr<Snapshot> Publish(TempDir& temp, Snapshot record) const;

  // Removes snapshot `id`: gone from List() at once (a rename), then its
  // files. NotFound.
  absl::Status Remove(absl::string_view id) const;

  // The store lock (what Publish and Remove hold) if it is free now, else
  // nullopt: for ch-gc, which must never wait for it (and must not call
  // Publish or Remove while it holds it: flock is not re-entrant).
  absl::StatusOr<std::optional<UniqueFd>> TryLockStore() const;

  // Recomputes every file's size and SHA-256 against the manifest.
  // DataLoss naming the first file that differs.
  absl::Status Verify(const Snapshot& record) const;

 private:
  explicit Store(std::string dir) : dir_(std::move(dir)) {}
  absl::StatusOr<UniqueFd> LockStore() const;
  std::string dir_;
};

}  // namespace chtools::snapshot

#endif  // CHTOOLS_LIB_SNAPSHOT_STORE_H_
