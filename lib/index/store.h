// Store: the on-disk layout of the index database and the primitive steps the
// Index operations are built from (internal to lib/index). See index.h for the
// layout and the invariants every caller of these steps keeps.
#ifndef CHTOOLS_LIB_INDEX_STORE_H_
#define CHTOOLS_LIB_INDEX_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/fs/flock.h"
#include "lib/record/records.pb.h"

namespace chtools::index {

// How long an operation waits for a VM's lock before giving up.
inline constexpr absl::Duration kLockTimeout = absl::Seconds(60);

// RFC 3339 UTC with nanoseconds (record::FormatTime).
std::string FormatRecordTime(absl::Time t);

class Store {
 public:
  explicit Store(std::string db) : db_(std::move(db)) {}

  const std::string& db() const { return db_; }
  std::string VmsDir() const { return db_ + "/vms"; }
  std::string NamesDir() const { return db_ + "/names"; }
  std::string LocksDir() const { return db_ + "/locks"; }
  std::string QuarantineDir() const { return db_ + "/quarantine"; }
  // The lock every put holds while it runs, and the list of the ids it owns
  // (index.h, "Puts and ownership").
  std::string PutLockPath() const { return db_ + "/put.lock"; }
  std::string PutIdsPath() const { return db_ + "/put.ids"; }
  std::string RecordPath(absl::string_view id) const;
  std::string NamePath(absl::string_view name) const;
  std::string LockPath(absl::string_view id) const;

  // Creates db and its subdirectories (mode 0750) if missing.
  absl::Status Init() const;

  // The record of `id`; nullopt if there is none; DataLoss if unparseable.
  absl::StatusOr<std::optional<Vm>> ReadRecord(absl::string_view id) const;
  // True if vms/<id>.pb exists (one stat, no read).
  bool RecordExists(absl::string_view id) const;
  // Writes vm's record atomically (pid and api_socket are never stored).
  // Caller holds vm.id()'s lock.
  absl::Status WriteRecord(const Vm& vm) const;
  // Writes the records of `vms` (caller owns every id) with one durability
  // pass for the batch: every temp file (vms/.<id>.pb.tmp-*) written, their
  // data synced (an fsync each for up to 8 records, else one syncfs(2)),
  // the renames in the given order, one fsync of vms/. Each rename is atomic
  // and comes after the data is durable, so a crash leaves each record old or
  // new, complete (I1); I6 holds on return. On failure the renames already done
  // stay and no temp file is left.
  absl::Status WriteRecords(const std::vector<const Vm*>& vms) const;
  // Unlinks vms/<id>.pb and fsyncs vms/. Caller holds id's lock.
  absl::Status RemoveRecord(absl::string_view id) const;

  // The id names/<name> points to; nullopt if there is no such link.
  absl::StatusOr<std::optional<std::string>> ReadName(
      absl::string_view name) const;
  // True if names/<name> -> id and id's record carries `name`.
  bool NameIsValid(absl::string_view name, absl::string_view id) const;

  // Claims `name` for `id` (caller owns id and every id in `held`: holds
  // their locks, or is the running put that lists them). Succeeds if the link
  // already points to id. An existing link to another VM blocks the claim if
  // valid, or while that VM's lock is busy; otherwise it is dangling and is
  // removed first. AlreadyExists `vm "<name>": name already used by <other>`.
  // Without `sync` the names/ fsync is left to the caller (SyncNames), who
  // must make it before writing a record that carries the name (I3).
  absl::Status ClaimName(absl::string_view name, absl::string_view id,
                         const absl::flat_hash_set<std::string>& held,
                         bool sync = true) const;
  // Points names/<name> at `id`, replacing whatever link is there (caller
  // owns `id` and the link's current target).
  absl::Status ReplaceName(absl::string_view name, absl::string_view id) const;
  // Removes names/<name> if it points to `id` (caller owns id).
  // Without `sync` the names/ fsync is left to the caller (SyncNames).
  absl::Status ReleaseName(absl::string_view name, absl::string_view id,
                           bool sync = true) const;
  // fsync of names/: makes unsynced claims and releases durable.
  absl::Status SyncNames() const;

  // id's lock, waiting at most kLockTimeout, and while a running put lists
  // id, for that put to end (DeadlineExceeded after kLockTimeout in all).
  absl::StatusOr<fs::FileLock> Lock(absl::string_view id) const;
  // id's lock if free now and no running put lists id, else nullopt.
  absl::StatusOr<std::optional<fs::FileLock>> TryLock(
      absl::string_view id) const;

  // For a put: waits for put.lock (kLockTimeout), then publishes
  // `sorted_ids` as put.ids. From then on every other writer leaves those
  // VMs alone; the put still takes each VM's lock once (LockForPut) to wait
  // for operations that started before. The returned lock is the put's.
  absl::StatusOr<fs::FileLock> BeginPut(
      const std::vector<std::string>& sorted_ids) const;
  // Removes put.ids; called before the put's lock goes away.
  absl::Status EndPut() const;
  // id's lock for the running put (no put.ids check), waiting at most
  // kLockTimeout.
  absl::StatusOr<fs::FileLock> LockForPut(absl::string_view id) const;
  // True if put.lock is held, i.e. a put is running.
  absl::StatusOr<bool> PutRunning() const;
  // True if a running put lists id in put.ids. A put.ids whose put.lock is
  // free is the leftover of a crashed put and lists nothing.
  absl::StatusOr<bool> InRunningPut(absl::string_view id) const;
  // Removes the lock file of a VM that has no record (caller holds it).
  absl::Status DropLockIfNoRecord(fs::FileLock& lock,
                                  absl::string_view id) const;

  // Sorted entry names of a directory (without "." and "..").
  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& dir) const;

 private:
  std::string db_;
};

}  // namespace chtools::index

#endif  // CHTOOLS_LIB_INDEX_STORE_H_
