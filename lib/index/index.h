// Index: the registry of VM records under <root_dir>/cloudhypervisor/db, one
// file per VM, names as atomically created symlinks, one lock per VM. Every
// operation touches only the files of the VMs it concerns, so its cost does not
// grow with the number of VMs and operations on different VMs never wait for
// each other (puts, which may concern any number of VMs, run one at a time).
//
// Layout (all under <db> = <root_dir>/cloudhypervisor/db):
//   vms/<id>.pb          the Vm record, binary protobuf, replaced only by a
//                        rename of a complete, synced temp file
//                        vms/.<id>.pb.tmp-* (WriteFileAtomically; a put
//                        writes its batch's and syncs them at once).
//   names/<name> -> <id> a symlink claiming <name> for <id>; created with
//                        symlink(2), which fails if the name exists.
//   locks/<id>           the flock(2) target of VM <id> (FileLock).
//   put.lock             held (flock) by the one put running, if any.
//   put.ids              while a put runs: the ids of its batch, sorted, one
//                        per line (temp file .put.ids.tmp-*).
//
// Puts and ownership: owning VM X means holding X's lock, or being the
// running put whose put.ids lists X. A writer that takes X's lock while a
// running put lists X lets go at once and waits for the put to end; a put
// publishes put.ids before it takes the lock of any VM it lists (once each,
// to wait for operations already under way). So a put owns every VM of its
// batch with a bounded number of open fds, however large the batch. A
// put.ids whose put.lock is free is a crashed put's leftover and lists
// nothing.
//
// Invariants (what makes a crash at any instruction safe):
//   I1. A VM exists iff vms/<id>.pb exists; the record is always complete
//       (atomic rename), so there are no half-written records.
//   I2. A name link N -> X is VALID iff vms/X.pb exists and its config.name is
//       N. Only valid links count: Resolve and name conflicts ignore others
//       (a crash leaves at worst an invalid "dangling" link, never a wrong
//       answer). Check reports them and repair removes them.
//   I3. A record's name is claimed (a link created) BEFORE the record carrying
//       that name is written, and the old name's link is removed only AFTER;
//       so a record never carries a name that another VM can claim.
//   I4. Links pointing to X, and vms/X.pb, are created, replaced or removed
//       only by X's owner; a dangling link to X is therefore removed by
//       others only after taking X's lock with X not listed by a running put
//       (non-blocking: a busy lock or a listing means an operation on X is in
//       flight, so the name is in use).
//   I5. Delete removes the record first (the commit point), then the name
//       link, then the lock file; a crash in between leaves only invisible
//       leftovers (dangling link, orphan lock file) that Check repairs.
//   I6. Operations return only after their change is durable (the file's
//       data by fsync, or for a put's batch by one syncfs before any rename;
//       then the directory by fsync), so a record whose write returned
//       survives a crash.
#ifndef CHTOOLS_LIB_INDEX_INDEX_H_
#define CHTOOLS_LIB_INDEX_INDEX_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/record/records.pb.h"

namespace chtools::index {

// What Check needs to know beyond the index itself. Empty/null members turn
// the corresponding checks off.
struct CheckContext {
  // Directory holding the per-VM run dirs, i.e. "<run-dir>/cloudhypervisor".
  // Subdirectories with no record are reported as "orphan-run-dir" (never
  // removed here: that is ch-gc's job). "db" is reserved and skipped.
  std::string vm_run_parent;
  // Directory holding the per-VM log dirs, "<log-dir>/cloudhypervisor".
  std::string vm_log_parent;
  // Whether the VM's CH process is alive (pid file + cmdline check). Null:
  // recorded states are not checked against processes.
  std::function<bool(const Vm&)> is_alive;
  // Whether an operation on VM `id` is in flight (its operation lock is
  // held): anything such an operation holds is never a finding. Null: none.
  std::function<bool(absl::string_view id)> is_busy;
  // A CREATING record whose updated_at is older than this (and whose lock is
  // free) is "stale-creating"; repair deletes it (record and name).
  absl::Duration stale_creating_age = absl::Hours(24);
  // "Now" for the age check; tests inject it.
  absl::Time now = absl::Now();
};

// The finding kinds Check reports (Finding.kind):
//   dangling-name     names/N points to a missing record or one not named N.
//                     repair: remove the link.
//   unclaimed-name    a record's name has no valid link. repair: create it.
//   duplicate-name    two records carry the same name. no repair.
//   bad-record        vms/<f> cannot be parsed or its id differs from the file
//                     name. repair: move it to <db>/quarantine/.
//   stale-temp        a leftover temp file of an interrupted write, or the
//                     put.ids of a put that died. repair: remove it.
//   orphan-lock       locks/<id> with no record. repair: remove it.
//   stale-creating    see CheckContext::stale_creating_age (the age is that of
//                     the record file's last write).
//   interrupted-delete a DELETING record with no operation on it: an rm died
//                     after its commit point. repair: remove record and name
//                     (the files are orphans for ch-gc).
//   missing-disk      a writable disk of a tools-made record is gone. no
//                     repair.
//   missing-run-dir   missing-log-dir: a record's run_dir/log_dir does not
//                     exist (states other than CREATING). no repair.
//   orphan-run-dir    orphan-log-dir: a per-VM dir with no record. no repair.
//   state-mismatch    recorded RUNNING but no live process (repair: STOPPED,
//                     stopped_at set) or a live process but not RUNNING
//                     (repair: RUNNING).
inline constexpr absl::string_view kFindingKinds[] = {
    "dangling-name",      "unclaimed-name", "duplicate-name", "bad-record",
    "stale-temp",         "orphan-lock",    "stale-creating", "missing-run-dir",
    "missing-log-dir",    "orphan-run-dir", "orphan-log-dir", "state-mismatch",
    "interrupted-delete", "missing-disk"};

// Writers (Reserve, Update, PutAll, Delete) own the VMs they change, waiting
// at most 60 s (DeadlineExceeded "lock <path>: still held by another process
// after 1m", or "lock <path>: vm <id> is part of a put still running after
// 1m"; a put also waits that long for put.lock); readers (Get, Resolve,
// List) never lock.
class Index {
 public:
  // Opens the registry under <root_dir>/cloudhypervisor/db, creating what is
  // missing (root_dir included) with owner-only modes. FailedPrecondition
  // "<path>: not a directory" when root_dir is something else.
  static absl::StatusOr<std::unique_ptr<Index>> Open(
      absl::string_view root_dir);

  // Stores `vm` (state CREATING expected; id and config.name set) and claims
  // its name. AlreadyExists `vm "web": name already used by <id>` /
  // `id <id> already used`; InvalidArgument for a malformed id or name.
  // Sets created_at/updated_at when empty. Atomic.
  absl::Status Reserve(const Vm& vm);

  // The record of `id`. NotFound `vm "<id>": not found`.
  absl::StatusOr<Vm> Get(absl::string_view id) const;

  // Under this VM's lock: reads the record, runs fn, writes it back atomically
  // if fn is ok (updated_at set). Name changes move the name claim atomically
  // (AlreadyExists if taken). fn may not change the id. Returns the new record;
  // fn's error is returned unchanged and nothing is written.
  absl::StatusOr<Vm> Update(absl::string_view id,
                            absl::FunctionRef<absl::Status(Vm&)> fn);

  // Upsert of complete records (vm-index put): all-or-nothing w.r.t.
  // validation and name conflicts (checked, and every new name claimed, for
  // the whole batch, with every batch VM owned through put.ids, before
  // anything is written). Open fds stay bounded whatever the batch size. Each
  // record write is atomic; a write failing mid-batch (a full disk) keeps the
  // records already written and releases every name no record carries, and a
  // crash mid-batch leaves some of the batch's records written, each one
  // complete (re-running the put is idempotent). Durability is batched: one
  // fsync of names/ for the batch's claims, then the records' temp files,
  // their data synced (one syncfs(2) beyond 8 records), the renames, one
  // fsync of vms/ (a wave more for each step
  // of a name passed along inside the batch). Names may move between VMs
  // of the batch unless they form a cycle (InvalidArgument).
  absl::Status PutAll(const std::vector<Vm>& vms);

  // Removes the record and its name claim. NotFound if absent. Without
  // `wait`, a busy lock (or a running put listing id) is Unavailable at once
  // and nothing is done (ch-gc never waits).
  absl::Status Delete(absl::string_view id, bool wait = true);

  // ref = exact id | exact name | unique id prefix (>= 3 chars).
  // NotFound `vm "x": not found`; ambiguous prefix: FailedPrecondition
  // `vm "abc": ambiguous id prefix, candidates: <id> (<name>), ...`.
  absl::StatusOr<std::string> Resolve(absl::string_view ref) const;

  // Every record, sorted by name (then id). Unreadable record files are
  // skipped (Check reports them), unless `strict`: then the first one is an
  // error (DataLoss naming the file) for callers that must fail closed.
  absl::StatusOr<std::vector<Vm>> List(bool strict = false) const;

  // Name links that are dangling (Check's "dangling-name": names/N -> X where
  // X's record is missing or does not carry N), as (N, X) read now without
  // locks; links that are no symlink or not to a valid id are left out (only
  // Check(repair) touches those).
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  DanglingNames() const;

  // Removes names/<name> if it still points to `id` and is still dangling,
  // re-checked under id's lock taken without waiting (I4). Unavailable when
  // an operation on `id` is in flight (busy: nothing done); FailedPrecondition
  // when the link is gone or no longer dangling.
  absl::Status RemoveDanglingName(absl::string_view name, absl::string_view id);

  // Consistency check (kinds above); findings as records; repairs only when
  // repair == true (then Finding.repaired tells what was fixed). Safe to run
  // beside other operations: anything whose lock is busy is left alone.
  absl::StatusOr<std::vector<Finding>> Check(bool repair,
                                             const CheckContext& ctx);

  // <root_dir>/cloudhypervisor/db.
  const std::string& db_dir() const { return db_; }

 private:
  explicit Index(std::string db);
  std::string db_;
};

}  // namespace chtools::index

#endif  // CHTOOLS_LIB_INDEX_INDEX_H_
