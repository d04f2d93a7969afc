// ch-gc's core: MakePlan, Collect, Pins (see ch_gc.h).
#include "tools/ch-gc/ch_gc.h"

#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/atomic_file.h"
#include "lib/fs/files.h"
#include "lib/fs/flock.h"
#include "lib/process/ch_process.h"
#include "lib/record/ids.h"
#include "lib/record/timestamps.h"
#include "lib/vm/env.h"
#include "lib/vm/lifecycle.h"
#include "lib/vm/op_lock.h"
#include "lib/vm/paths.h"

namespace ch_gc {
namespace {

using ::chtools::Finding;
using ::chtools::ToolConfig;
using ::chtools::Vm;
using ::chtools::fs::FileLock;
using ::chtools::index::Index;
using ::chtools::process::ChProcess;
using ::chtools::snapshot::Store;
using ::chtools::vm::PathsFor;
using ::chtools::vm::VmPaths;

constexpr absl::string_view kTmpPrefix = ".tmp-";
constexpr absl::string_view kRmPrefix = ".rm-";

// lstat succeeded: something is there (never followed).
bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Entry names of `dir` (no "." or ".."); empty when the dir does not exist
// (the tools make it on first use). Any other error is the caller's: fail
// closed.
absl::StatusOr<std::vector<std::string>> ListDirOrEmpty(
    const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return chtools::ErrnoError(errno, "opendir", dir);
  }
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    absl::string_view n = e->d_name;
    if (n != "." && n != "..") out.emplace_back(n);
    errno = 0;
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return chtools::ErrnoError(err, "readdir", dir);
  std::sort(out.begin(), out.end());
  return out;
}

// Allocated bytes under `path` (a tree, never through a symlink); 0 if it
// is gone. Only informs the plan, so an unreadable subtree counts as 0.
thread_local int64_t du_total = 0;
int AddBlocks(const char*, const struct stat* st, int, struct FTW*) {
  du_total += static_cast<int64_t>(st->st_blocks) * 512;
  return 0;
}
int64_t DiskBytes(const std::string& path) {
  du_total = 0;
  if (::nftw(path.c_str(), AddBlocks, 16, FTW_PHYS) != 0) return du_total;
  return du_total;
}

// The newest mtime of `dir` and of its entries: a temp dir still being
// written into is young even if it was made long ago.
absl::StatusOr<absl::Time> NewestMtime(const std::string& dir) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    return chtools::ErrnoError(errno, "stat", dir);
  }
  absl::Time newest = absl::TimeFromTimespec(st.st_mtim);
  if (!S_ISDIR(st.st_mode)) return newest;
  ASSIGN_OR_RETURN(std::vector<std::string> entries, ListDirOrEmpty(dir));
  for (const std::string& e : entries) {
    std::string p = absl::StrCat(dir, "/", e);
    if (::lstat(p.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      return chtools::ErrnoError(errno, "stat", p);
    }
    newest = std::max(newest, absl::TimeFromTimespec(st.st_mtim));
  }
  return newest;
}

// A VM's operation lock taken without waiting. nullopt: busy. In a dry run a
// missing lock file counts as free without creating it (no operation can
// hold a lock whose file does not exist, and a dry run removes nothing).
struct Held {
  std::optional<FileLock> lock;
};
absl::StatusOr<std::optional<Held>> TryVm(const ToolConfig& config,
                                          const std::string& id, bool dry_run) {
  if (dry_run &&
      !Exists(absl::StrCat(chtools::vm::OpLockDir(config), "/", id))) {
    return std::optional<Held>(Held{});
  }
  ASSIGN_OR_RETURN(std::optional<FileLock> lock,
                   chtools::vm::TryLockVm(config, id));
  if (!lock.has_value()) return std::optional<Held>();
  return std::optional<Held>(Held{std::move(lock)});
}

// The same for the snapshot store's lock.
absl::StatusOr<std::optional<std::optional<chtools::UniqueFd>>> TryStore(
    const Store& store, bool dry_run) {
  using Result = std::optional<std::optional<chtools::UniqueFd>>;
  if (dry_run && !Exists(store.dir() + "/.lock")) {
    return Result(std::optional<chtools::UniqueFd>());
  }
  ASSIGN_OR_RETURN(std::optional<chtools::UniqueFd> fd, store.TryLockStore());
  if (!fd.has_value()) return Result();
  return Result(std::move(fd));
}

absl::StatusOr<ChProcess> FindCh(const VmPaths& p) {
  return chtools::process::FindChProcess(p.api_socket, p.pid_file,
                                         {p.cow_raw, p.overlay});
}

// The record of `id`: nullopt if there is none; other errors fail closed.
absl::StatusOr<std::optional<Vm>> RecordOf(Index& index,
                                           const std::string& id) {
  absl::StatusOr<Vm> vm = index.Get(id);
  if (vm.ok()) return std::optional<Vm>(*std::move(vm));
  if (absl::IsNotFound(vm.status())) return std::optional<Vm>();
  return vm.status();
}

std::string Busy(absl::string_view what) {
  return absl::StrCat(what, ": an operation holds its lock; skipped");
}

Finding MakeFinding(absl::string_view kind, absl::string_view vm_id,
                    absl::string_view path, absl::string_view detail,
                    int64_t bytes = 0) {
  Finding f;
  f.set_kind(std::string(kind));
  f.set_vm_id(std::string(vm_id));
  f.set_path(std::string(path));
  f.set_detail(std::string(detail));
  f.set_bytes(bytes);
  return f;
}

bool IsStale(const Vm& vm, const Options& o) {
  absl::StatusOr<absl::Time> t = chtools::record::ParseTime(vm.updated_at());
  return t.ok() && o.now - *t >= o.grace;
}

class Planner {
 public:
  Planner(const ToolConfig& config, Index& index, const Store& store,
          const Options& o)
      : config_(config), index_(index), store_(store), o_(o) {}

  absl::StatusOr<Plan> Run() {
    ASSIGN_OR_RETURN(std::vector<Vm> vms, index_.List(/*strict=*/true));
    std::set<std::string> with_record;
    for (const Vm& vm : vms) with_record.insert(vm.id());
    std::set<std::string> orphans;
    for (const std::string& parent : {chtools::vm::VmRunParent(config_),
                                      chtools::vm::VmLogParent(config_)}) {
      ASSIGN_OR_RETURN(std::vector<std::string> entries,
                       ListDirOrEmpty(parent));
      for (const std::string& e : entries) {
        // Only per-VM dirs (named by an id) are ours; "db" and anything
        // else someone put there are left alone.
        if (chtools::record::IsValidId(e) && !with_record.contains(e)) {
          orphans.insert(e);
        }
      }
    }
    for (const std::string& id : orphans) RETURN_IF_ERROR(Orphan(id));
    for (const Vm& vm : vms) RETURN_IF_ERROR(Recorded(vm));
    RETURN_IF_ERROR(Names());
    RETURN_IF_ERROR(Snapshots());
    DropReferenced(vms);
    return std::move(plan_);
  }

 private:
  // Leaves out every finding whose removal would take a file that another
  // VM's record names (a disk, kernel, initrd or firmware under an orphan
  // dir, say): such a plan is refused for that thing and reported (exit 1).
  // Paths are compared as written (records hold absolute paths).
  void DropReferenced(const std::vector<Vm>& vms) {
    struct Ref {
      std::string path, vm_id, what;
    };
    std::vector<Ref> refs;
    for (const Vm& vm : vms) {
      std::string who =
          absl::StrCat("vm \"", vm.config().name(), "\" (", vm.id(), ")");
      for (const chtools::StorageConfig& s : vm.storage()) {
        refs.push_back({s.path(), vm.id(), who});
      }
      for (const std::string& p :
           {vm.boot().kernel_path(), vm.boot().initrd_path(),
            vm.boot().firmware_path()}) {
        if (!p.empty()) refs.push_back({p, vm.id(), who});
      }
    }
    std::vector<Finding> kept;
    for (Finding& f : plan_.findings) {
      std::vector<std::string> roots = {f.path()};
      if (f.kind() == "stale-creating") {
        roots.push_back(PathsFor(config_, f.vm_id()).log_dir);
      }
      const Ref* hit = nullptr;
      for (const Ref& r : refs) {
        // A stale placeholder's own files go with it.
        if (f.kind() == "stale-creating" && r.vm_id == f.vm_id()) continue;
        for (const std::string& root : roots) {
          if (r.path == root || absl::StartsWith(r.path, root + "/")) hit = &r;
        }
        if (hit != nullptr) break;
      }
      if (hit == nullptr) {
        kept.push_back(std::move(f));
        continue;
      }
      plan_.errors.push_back(absl::StrCat(f.path(), ": ", f.kind(),
                                          " left alone: ", hit->what, " names ",
                                          hit->path));
    }
    plan_.findings = std::move(kept);
  }

  // A VM id with dirs and no record.
  absl::Status Orphan(const std::string& id) {
    const VmPaths p = PathsFor(config_, id);
    ASSIGN_OR_RETURN(std::optional<Held> held, TryVm(config_, id, o_.dry_run));
    if (!held.has_value()) {
      plan_.skipped.push_back(Busy(absl::StrCat("vm ", id, " (no record)")));
      return absl::OkStatus();
    }
    // Under the lock: a create may have written the record meanwhile.
    ASSIGN_OR_RETURN(std::optional<Vm> rec, RecordOf(index_, id));
    if (rec.has_value()) return absl::OkStatus();
    if (Exists(p.run_dir)) {
      absl::StatusOr<ChProcess> ch = FindCh(p);
      if (ch.ok()) {
        plan_.findings.push_back(MakeFinding(
            "orphan-ch", id, p.api_socket,
            absl::StrCat("cloud-hypervisor pid ", ch->pid(),
                         " of a VM with no record: SIGTERM, then SIGKILL")));
      } else if (absl::IsFailedPrecondition(ch.status())) {
        plan_.errors.push_back(absl::StrCat("vm ", id, ": ",
                                            ch.status().message(),
                                            "; its dirs are left alone"));
        return absl::OkStatus();
      } else if (!absl::IsNotFound(ch.status())) {
        return ch.status();
      }
      plan_.findings.push_back(MakeFinding("orphan-run-dir", id, p.run_dir,
                                           "run dir of a VM with no record",
                                           DiskBytes(p.run_dir)));
    }
    if (Exists(p.log_dir)) {
      plan_.findings.push_back(MakeFinding("orphan-log-dir", id, p.log_dir,
                                           "log dir of a VM with no record",
                                           DiskBytes(p.log_dir)));
    }
    return absl::OkStatus();
  }

  absl::Status Recorded(const Vm& vm) {
    const std::string& id = vm.id();
    const VmPaths p = PathsFor(config_, id);
    if (vm.state() == Vm::CREATING) {
      if (!IsStale(vm, o_)) return absl::OkStatus();
      ASSIGN_OR_RETURN(std::optional<Held> held,
                       TryVm(config_, id, o_.dry_run));
      if (!held.has_value()) {
        plan_.skipped.push_back(Busy(absl::StrCat("vm ", id, " (CREATING)")));
        return absl::OkStatus();
      }
      ASSIGN_OR_RETURN(std::optional<Vm> rec, RecordOf(index_, id));
      if (!rec.has_value() || rec->state() != Vm::CREATING ||
          !IsStale(*rec, o_)) {
        return absl::OkStatus();
      }
      // A create or clone that died after launching CH leaves its CH
      // running (it is detached): proven to be the VM's CH, it goes too;
      // a process that cannot be proven to be it is left alone.
      absl::StatusOr<ChProcess> ch = FindCh(p);
      if (!ch.ok() && !absl::IsNotFound(ch.status())) {
        if (!absl::IsFailedPrecondition(ch.status())) return ch.status();
        plan_.errors.push_back(
            absl::StrCat("vm ", id,
                         ": a CREATING placeholder with a process on its API "
                         "socket that cannot be proven to be its CH; left "
                         "alone: ",
                         ch.status().message()));
        return absl::OkStatus();
      }
      plan_.findings.push_back(MakeFinding(
          "stale-creating", id, p.run_dir,
          absl::StrCat(
              "vm \"", rec->config().name(), "\" CREATING since ",
              rec->updated_at(), " (older than ",
              absl::FormatDuration(o_.grace), "): ",
              ch.ok() ? absl::StrCat("its CH (pid ", ch->pid(), "), ") : "",
              "its record, name, run and log dirs"),
          DiskBytes(p.run_dir) + DiskBytes(p.log_dir)));
      return absl::OkStatus();
    }
    if (vm.state() != Vm::DELETING &&
        (Exists(p.restore_staging) || Exists(p.restore_done))) {
      ASSIGN_OR_RETURN(std::optional<Held> held,
                       TryVm(config_, id, o_.dry_run));
      if (!held.has_value()) {
        plan_.skipped.push_back(
            Busy(absl::StrCat("vm \"", vm.config().name(), "\" (", id, ")")));
        return absl::OkStatus();
      }
      plan_.findings.push_back(MakeFinding(
          "interrupted-restore", id,
          Exists(p.restore_staging) ? p.restore_staging : p.restore_done,
          absl::StrCat("vm \"", vm.config().name(),
                       "\": a restore died half way; its previous disk (if "
                       "set aside) goes back, the staging dir goes"),
          DiskBytes(p.restore_staging) + DiskBytes(p.restore_done)));
      return absl::OkStatus();
    }
    std::vector<std::pair<std::string, const char*>> files = {
        {p.api_socket, "stale-socket"},
        {p.console_socket, "stale-socket"},
        {p.pid_file, "stale-pid-file"}};
    if (std::none_of(files.begin(), files.end(),
                     [](const auto& f) { return Exists(f.first); })) {
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::optional<Held> held, TryVm(config_, id, o_.dry_run));
    if (!held.has_value()) {
      plan_.skipped.push_back(
          Busy(absl::StrCat("vm \"", vm.config().name(), "\" (", id, ")")));
      return absl::OkStatus();
    }
    absl::StatusOr<ChProcess> ch = FindCh(p);
    if (ch.ok()) return absl::OkStatus();  // live: nothing is stale
    if (absl::IsFailedPrecondition(ch.status())) {
      plan_.errors.push_back(absl::StrCat(
          "vm \"", vm.config().name(), "\": ", ch.status().message(),
          "; its runtime files are left alone"));
      return absl::OkStatus();
    }
    if (!absl::IsNotFound(ch.status())) return ch.status();
    for (const auto& [path, kind] : files) {
      if (!Exists(path)) continue;
      plan_.findings.push_back(MakeFinding(
          kind, id, path,
          absl::StrCat("vm \"", vm.config().name(), "\" has no live CH")));
    }
    return absl::OkStatus();
  }

  absl::Status Names() {
    ASSIGN_OR_RETURN(auto dangling, index_.DanglingNames());
    for (const auto& [name, id] : dangling) {
      plan_.findings.push_back(MakeFinding(
          "dangling-name", id, absl::StrCat(index_.db_dir(), "/names/", name),
          absl::StrCat("name \"", name, "\" points to ", id,
                       ", whose record does not carry it")));
    }
    return absl::OkStatus();
  }

  absl::Status Snapshots() {
    ASSIGN_OR_RETURN(auto lock, TryStore(store_, o_.dry_run));
    if (!lock.has_value()) {
      plan_.skipped.push_back(Busy("snapshot store " + store_.dir()));
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::vector<std::string> entries,
                     ListDirOrEmpty(store_.dir()));
    for (const std::string& e : entries) {
      const std::string path = absl::StrCat(store_.dir(), "/", e);
      for (auto [prefix, kind] :
           {std::pair{kTmpPrefix, "snapshot-temp"},
            std::pair{kRmPrefix, "snapshot-rm-leftover"}}) {
        // Only the store's own leftovers (named by a snapshot id).
        if (!absl::StartsWith(e, prefix) ||
            !chtools::record::IsValidId(e.substr(prefix.size()))) {
          continue;
        }
        ASSIGN_OR_RETURN(absl::Time newest, NewestMtime(path));
        if (o_.now - newest < o_.grace) continue;
        Finding f = MakeFinding(
            kind, "", path,
            absl::StrCat("untouched since ",
                         chtools::record::FormatTime(newest), " (older than ",
                         absl::FormatDuration(o_.grace), ")"),
            DiskBytes(path));
        f.set_snapshot_id(e.substr(prefix.size()));
        plan_.findings.push_back(std::move(f));
      }
      if (!chtools::record::IsValidId(e)) continue;
      ASSIGN_OR_RETURN(std::optional<Finding> f, PublishedDir(e));
      if (f.has_value()) plan_.findings.push_back(*std::move(f));
    }
    return absl::OkStatus();
  }

  // A published snapshot dir: a finding if it has no record or its data is
  // gone; an unreadable record fails closed.
  absl::StatusOr<std::optional<Finding>> PublishedDir(const std::string& id) {
    const std::string dir = store_.DirOf(id);
    struct stat st;
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return std::nullopt;  // gone meanwhile, or not a dir the store made
    }
    return SnapshotProblem(store_, id, DiskBytes(dir));
  }

 public:
  // Shared with Collect's re-check.
  static absl::StatusOr<std::optional<Finding>> SnapshotProblem(
      const Store& store, const std::string& id, int64_t bytes) {
    const std::string dir = store.DirOf(id);
    absl::StatusOr<chtools::Snapshot> s = store.Get(id);
    if (!s.ok()) {
      if (absl::IsNotFound(s.status()) &&
          !Exists(absl::StrCat(dir, "/", chtools::snapshot::kRecordFile))) {
        Finding f = MakeFinding(
            "orphan-snapshot-dir", "", dir,
            absl::StrCat("no ", chtools::snapshot::kRecordFile), bytes);
        f.set_snapshot_id(id);
        return std::optional<Finding>(std::move(f));
      }
      return s.status();
    }
    for (const chtools::SnapshotFile& file : s->files()) {
      std::string p = absl::StrCat(dir, "/", file.name());
      struct stat st;
      if (::lstat(p.c_str(), &st) == 0) continue;
      if (errno != ENOENT) return chtools::ErrnoError(errno, "stat", p);
      Finding f = MakeFinding(
          "snapshot-data-gone", s->source_vm_id(), dir,
          absl::StrCat("snapshot \"", s->name(), "\": ", file.name(),
                       ", listed by its record, is gone"),
          bytes);
      f.set_snapshot_id(id);
      return std::optional<Finding>(std::move(f));
    }
    return std::optional<Finding>();
  }

 private:
  const ToolConfig& config_;
  Index& index_;
  const Store& store_;
  const Options& o_;
  Plan plan_;
};

// What Collect does with one finding: done, skipped (busy, or no longer
// so; the reason), or an error.
struct Step {
  enum { kDone, kSkipped, kFailed } what = kDone;
  std::string why;
};
Step Skipped(std::string why) { return {Step::kSkipped, std::move(why)}; }
Step Failed(const absl::Status& s) {
  return {Step::kFailed, std::string(s.message())};
}

#define STEP_ASSIGN(lhs, expr)                          \
  auto lhs##_or = (expr);                               \
  if (!lhs##_or.ok()) return Failed(lhs##_or.status()); \
  auto lhs = *std::move(lhs##_or)

// SIGTERM, `grace`, SIGKILL, 5 s; all through the pidfd.
absl::Status Terminate(ChProcess& ch, absl::Duration grace) {
  absl::Status s = ch.Signal(SIGTERM);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  ASSIGN_OR_RETURN(bool gone, ch.WaitExit(grace));
  if (gone) return absl::OkStatus();
  s = ch.Signal(SIGKILL);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  ASSIGN_OR_RETURN(gone, ch.WaitExit(absl::Seconds(5)));
  if (!gone) {
    return absl::DeadlineExceededError(absl::StrCat(
        "cloud-hypervisor pid ", ch.pid(), " still alive 5s after SIGKILL"));
  }
  return absl::OkStatus();
}

// Renames a snapshot dir away (gone from List at once, as Store::Remove
// does), then removes it. Caller holds the store lock.
absl::Status RemoveSnapshotDir(const Store& store, const std::string& id) {
  const std::string from = store.DirOf(id);
  const std::string to = absl::StrCat(store.dir(), "/", kRmPrefix, id);
  RETURN_IF_ERROR(chtools::fs::RemoveTree(to));  // an older leftover
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return chtools::ErrnoError(errno, "rename", from);
  }
  RETURN_IF_ERROR(chtools::fs::FsyncDir(store.dir()));
  return chtools::fs::RemoveTree(to);
}

class Collector {
 public:
  Collector(const ToolConfig& config, Index& index, const Store& store,
            const Options& o)
      : config_(config), index_(index), store_(store), o_(o) {}

  Step One(const Finding& f) {
    const std::string& kind = f.kind();
    if (kind == "dangling-name") return Name(f);
    if (absl::StartsWith(kind, "snapshot-") || kind == "orphan-snapshot-dir") {
      return Snapshot(f);
    }
    const std::string& id = f.vm_id();
    if (!chtools::record::IsValidId(id)) {
      return Failed(absl::InternalError("finding without a vm id"));
    }
    const VmPaths p = PathsFor(config_, id);
    STEP_ASSIGN(held, TryVm(config_, id, /*dry_run=*/false));
    if (!held.has_value()) return Skipped("an operation holds its lock now");
    STEP_ASSIGN(rec, RecordOf(index_, id));
    absl::StatusOr<ChProcess> ch = FindCh(p);
    if (!ch.ok() && !absl::IsNotFound(ch.status())) return Failed(ch.status());
    const bool live = ch.ok();

    if (kind == "orphan-ch" || kind == "orphan-run-dir" ||
        kind == "orphan-log-dir") {
      if (rec.has_value()) return Skipped("vm has a record now");
      if (kind == "orphan-ch") {
        if (!live) return {};  // gone already
        absl::Status s = Terminate(*ch, o_.term_grace);
        return s.ok() ? Step{} : Failed(s);
      }
      if (kind == "orphan-log-dir") {
        absl::Status s = chtools::fs::RemoveTree(p.log_dir);
        return s.ok() ? Step{} : Failed(s);
      }
      if (live) {
        return Failed(absl::FailedPreconditionError(absl::StrCat(
            "cloud-hypervisor pid ", ch->pid(), " still serves it")));
      }
      absl::Status s = chtools::fs::RemoveTree(p.run_dir);
      return s.ok() ? Step{} : Failed(s);
    }
    if (kind == "stale-creating") {
      if (!rec.has_value() || rec->state() != Vm::CREATING ||
          !IsStale(*rec, o_)) {
        return Skipped("no longer a stale CREATING placeholder");
      }
      if (live) {
        // Proven the VM's CH (FindCh); the dying create or clone's.
        absl::Status t = Terminate(*ch, o_.term_grace);
        if (!t.ok()) return Failed(t);
      }
      absl::Status s = chtools::fs::RemoveTree(p.run_dir);
      if (s.ok()) s = chtools::fs::RemoveTree(p.log_dir);
      if (s.ok()) s = index_.Delete(id, /*wait=*/false);
      if (absl::IsUnavailable(s)) return Skipped(std::string(s.message()));
      return s.ok() ? Step{} : Failed(s);
    }
    if (kind == "interrupted-restore") {
      if (!rec.has_value()) return Skipped("vm has no record now");
      chtools::vm::Env env;
      env.config = config_;
      env.index = &index_;
      absl::Status s = chtools::vm::RecoverRestoreHeld(env, *rec);
      return s.ok() ? Step{} : Failed(s);
    }
    if (kind == "stale-socket" || kind == "stale-pid-file") {
      if (f.path() != p.api_socket && f.path() != p.console_socket &&
          f.path() != p.pid_file) {
        return Failed(absl::InternalError("not a runtime file of the VM"));
      }
      if (!rec.has_value()) return Skipped("vm has no record now");
      if (live) return Skipped("a CH serves the VM now");
      absl::Status s = chtools::fs::RemoveFile(f.path());
      return s.ok() ? Step{} : Failed(s);
    }
    return Failed(absl::InternalError("unknown finding kind " + kind));
  }

 private:
  Step Name(const Finding& f) {
    std::string prefix = index_.db_dir() + "/names/";
    if (!absl::StartsWith(f.path(), prefix)) {
      return Failed(absl::InternalError("not a name link"));
    }
    absl::Status s =
        index_.RemoveDanglingName(f.path().substr(prefix.size()), f.vm_id());
    if (absl::IsUnavailable(s) || absl::IsFailedPrecondition(s)) {
      return Skipped(std::string(s.message()));
    }
    return s.ok() ? Step{} : Failed(s);
  }

  Step Snapshot(const Finding& f) {
    const std::string& id = f.snapshot_id();
    if (!chtools::record::IsValidId(id)) {
      return Failed(absl::InternalError("finding without a snapshot id"));
    }
    STEP_ASSIGN(lock, TryStore(store_, /*dry_run=*/false));
    if (!lock.has_value()) return Skipped("the snapshot store is locked now");
    if (f.kind() == "snapshot-temp" || f.kind() == "snapshot-rm-leftover") {
      std::string path = absl::StrCat(
          store_.dir(), "/",
          f.kind() == "snapshot-temp" ? kTmpPrefix : kRmPrefix, id);
      if (!Exists(path)) return {};
      STEP_ASSIGN(newest, NewestMtime(path));
      if (o_.now - newest < o_.grace) return Skipped("written to since");
      absl::Status s = chtools::fs::RemoveTree(path);
      return s.ok() ? Step{} : Failed(s);
    }
    STEP_ASSIGN(problem, Planner::SnapshotProblem(store_, id, 0));
    if (!problem.has_value() || problem->kind() != f.kind()) {
      return Skipped("no longer " + f.kind());
    }
    absl::Status s = RemoveSnapshotDir(store_, id);
    if (!s.ok()) return Failed(s);
    // Its source VM forgets it, as after ch-snapshot rm; best effort and
    // never waiting (a busy VM keeps a dangling id, which nothing trusts).
    const std::string& vm_id = problem->vm_id();
    if (chtools::record::IsValidId(vm_id)) {
      absl::StatusOr<std::optional<Held>> held =
          TryVm(config_, vm_id, /*dry_run=*/false);
      if (held.ok() && held->has_value()) {
        (void)index_.Update(vm_id, [&](Vm& v) {
          auto* ids = v.mutable_snapshot_ids();
          for (int i = ids->size() - 1; i >= 0; --i) {
            if (ids->Get(i) == id) ids->erase(ids->begin() + i);
          }
          return absl::OkStatus();
        });
      }
    }
    return {};
  }

  const ToolConfig& config_;
  Index& index_;
  const Store& store_;
  const Options& o_;
};

#undef STEP_ASSIGN

}  // namespace

absl::StatusOr<Plan> MakePlan(const ToolConfig& config, Index& index,
                              const Store& store, const Options& options) {
  return Planner(config, index, store, options).Run();
}

Outcome Collect(const ToolConfig& config, Index& index, const Store& store,
                Plan& plan, const Options& options) {
  Outcome out;
  Collector c(config, index, store, options);
  for (Finding& f : plan.findings) {
    Step step = c.One(f);
    std::string what =
        absl::StrCat(f.kind(), " ", f.path().empty() ? f.vm_id() : f.path());
    switch (step.what) {
      case Step::kDone:
        f.set_repaired(true);
        break;
      case Step::kSkipped:
        out.skipped.push_back(absl::StrCat(what, ": skipped: ", step.why));
        break;
      case Step::kFailed:
        out.errors.push_back(absl::StrCat(what, ": ", step.why));
        break;
    }
  }
  return out;
}

absl::StatusOr<std::map<std::string, std::vector<std::string>>> Pins(
    Index& index, const Store& store) {
  std::map<std::string, std::vector<std::string>> pins;
  ASSIGN_OR_RETURN(std::vector<Vm> vms, index.List(/*strict=*/true));
  for (const Vm& vm : vms) {
    for (const std::string& b : vm.image_blob_ids()) {
      pins[b].push_back(
          absl::StrCat("vm \"", vm.config().name(), "\" (", vm.id(), ")"));
    }
  }
  ASSIGN_OR_RETURN(std::vector<std::string> entries,
                   ListDirOrEmpty(store.dir()));
  for (const std::string& e : entries) {
    struct stat st;
    if (!chtools::record::IsValidId(e) ||
        ::lstat(store.DirOf(e).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      continue;
    }
    absl::StatusOr<chtools::Snapshot> s = store.Get(e);
    if (!s.ok()) {
      // No record: nothing pinned (ch-gc collects the dir). Anything else
      // may hide pins: fail closed.
      if (absl::IsNotFound(s.status()) &&
          !Exists(absl::StrCat(store.DirOf(e), "/",
                               chtools::snapshot::kRecordFile))) {
        continue;
      }
      return s.status();
    }
    for (const std::string& b : s->image_blob_ids()) {
      pins[b].push_back(
          absl::StrCat("snapshot \"", s->name(), "\" (", s->id(), ")"));
    }
  }
  return pins;
}

}  // namespace ch_gc
