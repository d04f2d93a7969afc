// Index::Check: the consistency check behind `vm-index fsck [--repair]`. Each
// suspicious entry is re-examined under its VM's lock (taken without waiting:
// a busy lock means an operation is in flight, and the entry is left alone).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/fs/atomic_file.h"
#include "lib/index/index.h"
#include "lib/index/store.h"
#include "lib/record/ids.h"

namespace chtools::index {

using ::chtools::fs::FileLock;
using ::chtools::fs::FsyncDir;
namespace {

const char* StateName(Vm::State s) { return Vm::State_Name(s).c_str(); }

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The id in a record temp file name ".<id>.pb.tmp-XXXXXX", if any.
std::optional<std::string> TempFileId(absl::string_view entry) {
  if (entry.size() < 1 + 16 + 8 || entry[0] != '.') return std::nullopt;
  absl::string_view id = entry.substr(1, 16);
  if (!record::IsValidId(id) ||
      !absl::StartsWith(entry.substr(17), ".pb.tmp-")) {
    return std::nullopt;
  }
  return std::string(id);
}

class Checker {
 public:
  Checker(const Store& store, bool repair, const CheckContext& ctx)
      : store_(store), repair_(repair), ctx_(ctx) {}

  absl::StatusOr<std::vector<Finding>> Run(Index& index) {
    RETURN_IF_ERROR(CheckPutIds());
    RETURN_IF_ERROR(CheckRecordFiles());
    RETURN_IF_ERROR(CheckNameLinks());
    RETURN_IF_ERROR(CheckRecordNames());
    RETURN_IF_ERROR(CheckLockFiles());
    RETURN_IF_ERROR(CheckStaleCreating());
    RETURN_IF_ERROR(CheckInterruptedDelete());
    RETURN_IF_ERROR(CheckDirs());
    RETURN_IF_ERROR(CheckLiveness(index));
    return std::move(findings_);
  }

 private:
  void Add(absl::string_view kind, absl::string_view id, absl::string_view path,
           absl::string_view detail, bool repaired) {
    Finding& f = findings_.emplace_back();
    f.set_kind(std::string(kind));
    f.set_vm_id(std::string(id));
    f.set_path(std::string(path));
    f.set_detail(std::string(detail));
    f.set_repaired(repaired);
  }

  // TryLock of id's lock that notes whether the lock file existed, so that
  // ReleaseLock removes a lock file of a VM with no record only on repair or
  // when this check made it: without repair, nothing may change.
  absl::StatusOr<std::optional<FileLock>> TryLock(const std::string& id,
                                                  bool* existed) {
    struct stat st;
    *existed = ::lstat(store_.LockPath(id).c_str(), &st) == 0;
    return store_.TryLock(id);
  }
  void ReleaseLock(std::optional<FileLock>& lock, const std::string& id,
                   bool existed) {
    if (lock.has_value() && (repair_ || !existed)) {
      store_.DropLockIfNoRecord(*lock, id).IgnoreError();
    }
    lock.reset();
  }

  // Unlinks `path`; true on success (or if already gone).
  static bool Unlink(const std::string& path) {
    return ::unlink(path.c_str()) == 0 || errno == ENOENT;
  }

  bool Quarantine(const std::string& dir, const std::string& entry) {
    std::string qdir = store_.QuarantineDir();
    if (::mkdir(qdir.c_str(), 0750) != 0 && errno != EEXIST) return false;
    std::string to = absl::StrCat(qdir, "/", entry, ".", ::getpid(), ".",
                                  absl::ToUnixNanos(absl::Now()));
    return ::rename((dir + "/" + entry).c_str(), to.c_str()) == 0 &&
           FsyncDir(dir).ok();
  }

  // put.ids (and its temp file) left by a put that died: it protects
  // nothing (put.lock is free), so it is only clutter. Examined under
  // put.lock so that a put starting meanwhile keeps its list.
  absl::Status CheckPutIds() {
    std::string ids = store_.PutIdsPath();
    std::string temp_prefix =
        fs::TempPrefixFor(ids).substr(store_.db().size() + 1);
    ASSIGN_OR_RETURN(std::vector<std::string> entries,
                     store_.ListDir(store_.db()));
    std::vector<std::string> leftovers;
    for (const std::string& e : entries) {
      if (e == "put.ids" || absl::StartsWith(e, temp_prefix)) {
        leftovers.push_back(store_.db() + "/" + e);
      }
    }
    if (leftovers.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::optional<FileLock> put,
                     FileLock::TryAcquire(store_.PutLockPath()));
    if (!put.has_value()) return absl::OkStatus();  // a put is running
    for (const std::string& path : leftovers) {
      if (!PathExists(path)) continue;
      Add("stale-temp", "", path, "leftover of an interrupted put",
          repair_ && Unlink(path));
    }
    return absl::OkStatus();
  }

  absl::Status CheckRecordFiles() {
    std::string dir = store_.VmsDir();
    ASSIGN_OR_RETURN(std::vector<std::string> entries, store_.ListDir(dir));
    for (const std::string& e : entries) {
      std::string path = dir + "/" + e;
      if (e[0] == '.') {
        std::optional<std::string> id = TempFileId(e);
        std::optional<FileLock> lock;
        bool existed = false;
        if (id.has_value()) {
          ASSIGN_OR_RETURN(lock, TryLock(*id, &existed));
          if (!lock.has_value()) continue;  // a write in flight
          if (!PathExists(path)) {
            ReleaseLock(lock, *id, existed);
            continue;
          }
        }
        Add("stale-temp", id.value_or(""), path,
            "leftover of an interrupted record write", repair_ && Unlink(path));
        if (lock.has_value()) ReleaseLock(lock, *id, existed);
        continue;
      }
      absl::string_view id = e;
      if (!absl::ConsumeSuffix(&id, ".pb") || !record::IsValidId(id)) {
        Add("bad-record", "", path, "not a record file name (<id>.pb)",
            repair_ && Quarantine(dir, e));
        continue;
      }
      absl::StatusOr<std::optional<Vm>> vm = store_.ReadRecord(id);
      if (vm.ok() && !vm->has_value()) continue;  // deleted meanwhile
      if (vm.ok() && (*vm)->id() == id) {
        records_.emplace(std::string(id), **vm);
        continue;
      }
      bool existed = false;
      ASSIGN_OR_RETURN(std::optional<FileLock> lock,
                       TryLock(std::string(id), &existed));
      if (!lock.has_value()) continue;
      std::string detail = vm.ok()
                               ? absl::StrCat("record id \"", (*vm)->id(),
                                              "\" differs from the file name")
                               : std::string(vm.status().message());
      Add("bad-record", id, path, detail, repair_ && Quarantine(dir, e));
      ReleaseLock(lock, std::string(id), existed);
    }
    return absl::OkStatus();
  }

  bool ValidInMemory(const std::string& name, const std::string& id) const {
    auto it = records_.find(id);
    return it != records_.end() && it->second.config().name() == name;
  }

  absl::Status CheckNameLinks() {
    std::string dir = store_.NamesDir();
    ASSIGN_OR_RETURN(std::vector<std::string> entries, store_.ListDir(dir));
    for (const std::string& e : entries) {
      std::string path = dir + "/" + e;
      absl::StatusOr<std::optional<std::string>> target = store_.ReadName(e);
      if (!target.ok()) {
        // Not a symlink: nothing this index made.
        Add("dangling-name", "", path, std::string(target.status().message()),
            repair_ && Unlink(path));
        continue;
      }
      if (!target->has_value()) continue;  // removed meanwhile
      const std::string& id = **target;
      if (e[0] != '.' && ValidInMemory(e, id)) {
        claims_[e] = id;
        continue;
      }
      std::optional<FileLock> lock;
      bool existed = false;
      if (record::IsValidId(id)) {
        ASSIGN_OR_RETURN(lock, TryLock(id, &existed));
        if (!lock.has_value()) continue;  // in flight
      }
      // Re-read under the lock: the claim may have become valid.
      ASSIGN_OR_RETURN(std::optional<std::string> again, store_.ReadName(e));
      if (again != id) {
        ReleaseLock(lock, id, existed);
        continue;
      }
      if (e[0] == '.') {
        Add("stale-temp", id, path, "leftover of an interrupted name move",
            repair_ && Unlink(path));
      } else if (record::IsValidId(id) && store_.NameIsValid(e, id)) {
        // Either the record came to carry the name meanwhile, or it cannot
        // be read: then it still holds its name (NameIsValid never lets an
        // unreadable record lose it) and was reported as a bad-record.
        absl::StatusOr<std::optional<Vm>> vm = store_.ReadRecord(id);
        if (vm.ok() && vm->has_value()) records_[id] = **vm;
        claims_[e] = id;
      } else {
        Add("dangling-name", id, path,
            absl::StrCat("name \"", e, "\" points to ", id,
                         ", which has no record carrying that name"),
            repair_ && Unlink(path) && FsyncDir(dir).ok());
      }
      ReleaseLock(lock, id, existed);
    }
    return absl::OkStatus();
  }

  absl::Status CheckRecordNames() {
    std::map<std::string, std::vector<std::string>> by_name;
    for (const auto& [id, vm] : records_)
      by_name[vm.config().name()].push_back(id);
    for (const auto& [name, ids] : by_name) {
      auto claim = claims_.find(name);
      for (const std::string& id : ids) {
        if (claim != claims_.end() && claim->second == id) continue;
        std::string path = store_.NamePath(name);
        if (ids.size() > 1) {
          Add("duplicate-name", id, path,
              absl::StrCat("name \"", name, "\" is carried by ", ids.size(),
                           " records"),
              false);
          continue;
        }
        ASSIGN_OR_RETURN(std::optional<FileLock> lock, store_.TryLock(id));
        if (!lock.has_value()) continue;
        ASSIGN_OR_RETURN(std::optional<std::string> link,
                         store_.ReadName(name));
        if (link == id && store_.NameIsValid(name, id)) continue;  // fixed
        bool repaired = false;
        if (repair_) repaired = store_.ClaimName(name, id, {}).ok();
        Add("unclaimed-name", id, path,
            absl::StrCat("record's name \"", name, "\" has no link to it"),
            repaired);
      }
    }
    return absl::OkStatus();
  }

  absl::Status CheckLockFiles() {
    std::string dir = store_.LocksDir();
    ASSIGN_OR_RETURN(std::vector<std::string> entries, store_.ListDir(dir));
    for (const std::string& e : entries) {
      if (records_.contains(e)) continue;
      std::string path = dir + "/" + e;
      if (!record::IsValidId(e)) {
        Add("orphan-lock", "", path, "not a lock file of this index",
            repair_ && Unlink(path));
        continue;
      }
      ASSIGN_OR_RETURN(std::optional<FileLock> lock, store_.TryLock(e));
      if (!lock.has_value() || store_.RecordExists(e)) continue;
      Add("orphan-lock", e, path, "lock file of a VM with no record",
          repair_ && lock->RemoveFile().ok());
      // Without repair, TryLock just re-created nothing: the file existed.
    }
    return absl::OkStatus();
  }

  absl::Status CheckStaleCreating() {
    std::vector<std::string> gone;
    for (const auto& [id, vm] : records_) {
      if (vm.state() != Vm::CREATING) continue;
      struct stat st;
      std::string path = store_.RecordPath(id);
      if (::stat(path.c_str(), &st) != 0) continue;
      absl::Time written = absl::TimeFromTimespec(st.st_mtim);
      if (ctx_.now - written <= ctx_.stale_creating_age) continue;
      ASSIGN_OR_RETURN(std::optional<FileLock> lock, store_.TryLock(id));
      if (!lock.has_value()) continue;  // the create is still running
      // Unreadable since it was listed: the next check reports it.
      absl::StatusOr<std::optional<Vm>> read = store_.ReadRecord(id);
      if (!read.ok() || !read->has_value()) continue;
      std::optional<Vm>& now = *read;
      if (now->state() != Vm::CREATING) continue;
      bool repaired = false;
      if (repair_) {
        repaired = store_.RemoveRecord(id).ok() &&
                   store_.ReleaseName(now->config().name(), id).ok() &&
                   lock->RemoveFile().ok();
        if (repaired) gone.push_back(id);
      }
      Add("stale-creating", id, path,
          absl::StrCat("vm \"", now->config().name(),
                       "\" has been creating since ", FormatRecordTime(written),
                       " and nothing works on it"),
          repaired);
    }
    for (const std::string& id : gone) records_.erase(id);
    return absl::OkStatus();
  }

  // A DELETING record whose operation lock is free: an rm died after its
  // commit point. Repair finishes what the index holds (record and name);
  // the files are orphans for ch-gc.
  absl::Status CheckInterruptedDelete() {
    std::vector<std::string> gone;
    for (const auto& [id, vm] : records_) {
      if (vm.state() != Vm::DELETING) continue;
      if (ctx_.is_busy && ctx_.is_busy(id)) continue;  // the rm is running
      ASSIGN_OR_RETURN(std::optional<FileLock> lock, store_.TryLock(id));
      if (!lock.has_value()) continue;
      ASSIGN_OR_RETURN(std::optional<Vm> now, store_.ReadRecord(id));
      if (!now.has_value() || now->state() != Vm::DELETING) continue;
      bool repaired = false;
      if (repair_) {
        repaired = store_.RemoveRecord(id).ok() &&
                   store_.ReleaseName(now->config().name(), id).ok() &&
                   lock->RemoveFile().ok();
        if (repaired) gone.push_back(id);
      }
      Add("interrupted-delete", id, store_.RecordPath(id),
          absl::StrCat("vm \"", now->config().name(),
                       "\" was being removed when its rm stopped (ch-launch rm "
                       "finishes it)"),
          repaired);
    }
    for (const std::string& id : gone) records_.erase(id);
    return absl::OkStatus();
  }

  // A VM's dirs are derived from the parents and its id, not its record.
  std::string RunDir(const Vm& vm) const {
    return ctx_.vm_run_parent.empty()
               ? ""
               : absl::StrCat(ctx_.vm_run_parent, "/", vm.id());
  }
  std::string LogDir(const Vm& vm) const {
    return ctx_.vm_log_parent.empty()
               ? ""
               : absl::StrCat(ctx_.vm_log_parent, "/", vm.id());
  }

  absl::Status CheckOrphanDirs(const std::string& parent, bool run) {
    if (parent.empty()) return absl::OkStatus();
    absl::StatusOr<std::vector<std::string>> entries = store_.ListDir(parent);
    if (!entries.ok()) {
      if (absl::IsNotFound(entries.status())) return absl::OkStatus();
      return entries.status();
    }
    absl::flat_hash_set<std::string> used;
    for (const auto& [id, vm] : records_)
      used.insert(run ? RunDir(vm) : LogDir(vm));
    for (const std::string& e : *entries) {
      std::string path = parent + "/" + e;
      if (e == "db" || records_.contains(e) || used.contains(path)) continue;
      // An operation holds it (a create between its dirs and its record).
      if (ctx_.is_busy && ctx_.is_busy(e)) continue;
      Add(run ? "orphan-run-dir" : "orphan-log-dir",
          record::IsValidId(e) ? e : "", path,
          "no record refers to this directory (ch-gc removes it)", false);
    }
    return absl::OkStatus();
  }

  absl::Status CheckDirs() {
    for (const auto& [id, vm] : records_) {
      if (vm.state() == Vm::CREATING || vm.state() == Vm::DELETING) continue;
      for (int i = 0; i < vm.storage_size(); ++i) {
        const StorageConfig& d = vm.storage(i);
        // Only records made by the tools (which name their dirs) have disks.
        if (vm.run_dir().empty() || d.ro() || d.path().empty() ||
            PathExists(d.path()))
          continue;
        // A restore that died after setting the disk aside keeps it in the
        // run dir's restore-staging (lib/vm/paths.h).
        const bool restoring =
            !RunDir(vm).empty() &&
            PathExists(absl::StrCat(RunDir(vm), "/restore-staging"));
        Add("missing-disk", id, d.path(),
            absl::StrCat(
                "vm \"", vm.config().name(), "\" (", StateName(vm.state()),
                ") has lost its disk storage[", i, "]",
                restoring ? ": a restore was interrupted; `ch-launch stop "
                            "<vm>` puts its previous disk back"
                          : ": it cannot start"),
            false);
      }
      // Only records made by the tools (which name their dirs) have dirs.
      if (!vm.run_dir().empty() && !RunDir(vm).empty() &&
          !PathExists(RunDir(vm))) {
        Add("missing-run-dir", id, RunDir(vm),
            absl::StrCat("vm \"", vm.config().name(), "\" (",
                         StateName(vm.state()), ") has no run dir"),
            false);
      }
      if (!vm.log_dir().empty() && !LogDir(vm).empty() &&
          !PathExists(LogDir(vm))) {
        Add("missing-log-dir", id, LogDir(vm),
            absl::StrCat("vm \"", vm.config().name(), "\" (",
                         StateName(vm.state()), ") has no log dir"),
            false);
      }
    }
    RETURN_IF_ERROR(CheckOrphanDirs(ctx_.vm_run_parent, /*run=*/true));
    return CheckOrphanDirs(ctx_.vm_log_parent, /*run=*/false);
  }

  absl::Status CheckLiveness(Index& index) {
    if (!ctx_.is_alive) return absl::OkStatus();
    for (const auto& [id, vm] : records_) {
      // ERROR says what failed whether or not CH still lives; CREATING and
      // DELETING belong to their operations.
      if (vm.state() == Vm::CREATING || vm.state() == Vm::ERROR ||
          vm.state() == Vm::DELETING) {
        continue;
      }
      bool alive = ctx_.is_alive(vm);
      bool running = vm.state() == Vm::RUNNING;
      if (alive == running) continue;
      std::string detail = running
                               ? "recorded RUNNING but no live CH process"
                               : absl::StrCat("a live CH process but recorded ",
                                              StateName(vm.state()));
      bool repaired = false;
      if (repair_) {
        absl::StatusOr<Vm> updated = index.Update(id, [&](Vm& v) {
          bool alive_now = ctx_.is_alive(v);
          if (alive_now && v.state() != Vm::RUNNING &&
              v.state() != Vm::CREATING) {
            v.set_state(Vm::RUNNING);
          } else if (!alive_now && v.state() == Vm::RUNNING) {
            v.set_state(Vm::STOPPED);
            v.set_stopped_at(FormatRecordTime(absl::Now()));
          }
          return absl::OkStatus();
        });
        repaired = updated.ok() && (updated->state() == Vm::RUNNING) == alive;
      }
      Add("state-mismatch", id, store_.RecordPath(id), detail, repaired);
    }
    return absl::OkStatus();
  }

  const Store& store_;
  bool repair_;
  const CheckContext& ctx_;
  std::vector<Finding> findings_;
  std::map<std::string, Vm> records_;                     // id -> record
  absl::flat_hash_map<std::string, std::string> claims_;  // valid name -> id
};

}  // namespace

absl::StatusOr<std::vector<Finding>> Index::Check(bool repair,
                                                  const CheckContext& ctx) {
  Store store(db_);
  return Checker(store, repair, ctx).Run(*this);
}

}  // namespace chtools::index
