// Index: Open, Reserve, Get, Update, Delete, Resolve, List (PutAll is in
// put_all.cc, Check in check.cc). The order of the steps in each operation is
// what keeps the invariants of index.h at every crash point.
#include "lib/index/index.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/protobuf/stubs/logging.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/fs/atomic_file.h"
#include "lib/fs/files.h"
#include "lib/fs/io.h"
#include "lib/index/store.h"
#include "lib/record/ids.h"

namespace chtools::index {

using ::chtools::fs::FileLock;
using ::chtools::fs::ReadFileAt;
namespace {

absl::Status NotFoundVm(absl::string_view ref) {
  return absl::NotFoundError(absl::StrCat("vm \"", ref, "\": not found"));
}

absl::Status CheckIdAndName(const Vm& vm) {
  if (!record::IsValidId(vm.id())) {
    return absl::InvalidArgumentError(
        absl::StrCat("vm \"", vm.config().name(), "\": id \"", vm.id(),
                     "\": must be 16 lowercase hex characters"));
  }
  if (!record::IsValidName(vm.config().name())) {
    return absl::InvalidArgumentError(
        absl::StrCat("vm ", vm.id(), ": config.name \"", vm.config().name(),
                     "\": must match ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$"));
  }
  return absl::OkStatus();
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

}  // namespace

Index::Index(std::string db) : db_(std::move(db)) {}

absl::StatusOr<std::unique_ptr<Index>> Index::Open(absl::string_view root_dir) {
  std::string root(root_dir);
  // A fresh host has no root yet: made on first use, owner-only.
  RETURN_IF_ERROR(fs::MakeDirs(root, 0700));
  std::string parent = root + "/cloudhypervisor";
  if (::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError(errno, "mkdir", parent);
  }
  std::string db = parent + "/db";
  RETURN_IF_ERROR(Store(db).Init());
  return std::unique_ptr<Index>(new Index(std::move(db)));
}

absl::Status Index::Reserve(const Vm& vm_in) {
  RETURN_IF_ERROR(CheckIdAndName(vm_in));
  Store store(db_);
  Vm vm = vm_in;
  std::string now = FormatRecordTime(absl::Now());
  if (vm.created_at().empty()) vm.set_created_at(now);
  if (vm.updated_at().empty()) vm.set_updated_at(now);

  ASSIGN_OR_RETURN(FileLock lock, store.Lock(vm.id()));
  if (store.RecordExists(vm.id())) {
    return absl::AlreadyExistsError(absl::StrCat(
        "vm \"", vm.config().name(), "\": id ", vm.id(), " already used"));
  }
  // Name first (I3): a crash before the record is written leaves only a
  // dangling link, which nobody treats as a claim.
  absl::Status claimed = store.ClaimName(vm.config().name(), vm.id(), {});
  if (!claimed.ok()) {
    store.DropLockIfNoRecord(lock, vm.id()).IgnoreError();
    return claimed;
  }
  absl::Status written = store.WriteRecord(vm);
  if (!written.ok()) {
    store.ReleaseName(vm.config().name(), vm.id()).IgnoreError();
    store.DropLockIfNoRecord(lock, vm.id()).IgnoreError();
  }
  return written;
}

absl::StatusOr<Vm> Index::Get(absl::string_view id) const {
  if (!record::IsValidId(id)) return NotFoundVm(id);
  ASSIGN_OR_RETURN(std::optional<Vm> vm, Store(db_).ReadRecord(id));
  if (!vm.has_value()) return NotFoundVm(id);
  return *std::move(vm);
}

absl::StatusOr<Vm> Index::Update(absl::string_view id,
                                 absl::FunctionRef<absl::Status(Vm&)> fn) {
  Store store(db_);
  // Checked before locking so that updates of unknown ids leave no lock file.
  if (!record::IsValidId(id) || !store.RecordExists(id)) return NotFoundVm(id);
  ASSIGN_OR_RETURN(FileLock lock, store.Lock(id));
  ASSIGN_OR_RETURN(std::optional<Vm> current, store.ReadRecord(id));
  if (!current.has_value()) {
    // Deleted while we waited for the lock.
    store.DropLockIfNoRecord(lock, id).IgnoreError();
    return NotFoundVm(id);
  }
  Vm vm = *current;
  RETURN_IF_ERROR(fn(vm));
  if (vm.id() != id) {
    return absl::InvalidArgumentError(
        absl::StrCat("vm \"", current->config().name(),
                     "\": an update may not change the id"));
  }
  RETURN_IF_ERROR(CheckIdAndName(vm));
  const std::string& old_name = current->config().name();
  const std::string& new_name = vm.config().name();
  bool renamed = old_name != new_name;
  if (renamed) RETURN_IF_ERROR(store.ClaimName(new_name, id, {}));
  vm.set_updated_at(FormatRecordTime(absl::Now()));
  absl::Status written = store.WriteRecord(vm);
  if (!written.ok()) {
    if (renamed) store.ReleaseName(new_name, id).IgnoreError();
    return written;
  }
  // The old name goes only after the record no longer carries it (I3). The
  // update has committed: a failure here leaves only a dangling link, which
  // nobody treats as a claim and Check repairs, so it is not an error.
  if (renamed) store.ReleaseName(old_name, id).IgnoreError();
  vm.clear_pid();
  vm.clear_api_socket();
  return vm;
}

absl::Status Index::Delete(absl::string_view id, bool wait) {
  Store store(db_);
  if (!record::IsValidId(id) || !store.RecordExists(id)) return NotFoundVm(id);
  std::optional<FileLock> held;
  if (wait) {
    ASSIGN_OR_RETURN(held, store.Lock(id));
  } else {
    ASSIGN_OR_RETURN(held, store.TryLock(id));
    if (!held.has_value()) {
      return absl::UnavailableError(
          absl::StrCat("vm ", id, ": its index lock is busy"));
    }
  }
  FileLock& lock = *held;
  ASSIGN_OR_RETURN(std::optional<Vm> vm, store.ReadRecord(id));
  if (!vm.has_value()) {
    store.DropLockIfNoRecord(lock, id).IgnoreError();
    return NotFoundVm(id);
  }
  // The record goes first: it is the commit point (I5). What follows only
  // tidies up invisible leftovers (Check repairs them if this fails).
  RETURN_IF_ERROR(store.RemoveRecord(id));
  store.ReleaseName(vm->config().name(), id).IgnoreError();
  lock.RemoveFile().IgnoreError();
  return absl::OkStatus();
}

absl::StatusOr<std::string> Index::Resolve(absl::string_view ref) const {
  Store store(db_);
  if (record::IsValidId(ref) && store.RecordExists(ref))
    return std::string(ref);
  if (record::IsValidName(ref)) {
    ASSIGN_OR_RETURN(std::optional<std::string> id, store.ReadName(ref));
    if (id.has_value() && record::IsValidId(*id) &&
        store.NameIsValid(ref, *id)) {
      return *id;
    }
  }
  if (ref.size() >= 3 && ref.size() < 16 &&
      std::all_of(ref.begin(), ref.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      })) {
    ASSIGN_OR_RETURN(std::vector<std::string> entries,
                     store.ListDir(store.VmsDir()));
    std::vector<std::string> matches;
    for (const std::string& e : entries) {
      absl::string_view id = e;
      if (!absl::ConsumeSuffix(&id, ".pb") || !record::IsValidId(id)) continue;
      if (absl::StartsWith(id, ref)) matches.emplace_back(id);
    }
    if (matches.size() == 1) return matches[0];
    if (matches.size() > 1) {
      std::vector<std::string> candidates;
      for (const std::string& id : matches) {
        absl::StatusOr<std::optional<Vm>> vm = store.ReadRecord(id);
        if (vm.ok() && vm->has_value()) {
          candidates.push_back(
              absl::StrCat(id, " (", (*vm)->config().name(), ")"));
        } else {
          candidates.push_back(id);
        }
      }
      return absl::FailedPreconditionError(
          absl::StrCat("vm \"", ref, "\": ambiguous id prefix, candidates: ",
                       absl::StrJoin(candidates, ", ")));
    }
  }
  return NotFoundVm(ref);
}

absl::StatusOr<std::vector<Vm>> Index::List(bool strict) const {
  Store store(db_);
  std::string dir = store.VmsDir();
  std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
  if (!d) return ErrnoError(errno, "opendir", dir);
  int dfd = ::dirfd(d.get());
  std::vector<Vm> vms;
  errno = 0;
  while (struct dirent* e = ::readdir(d.get())) {
    absl::string_view name = e->d_name;
    absl::string_view id = name;
    if (name[0] == '.' || !absl::ConsumeSuffix(&id, ".pb")) {
      errno = 0;
      continue;
    }
    absl::StatusOr<std::string> data =
        ReadFileAt(dfd, name, absl::StrCat(dir, "/", name));
    // A record deleted since readdir is simply gone; one that cannot be
    // read or parsed is skipped here (one bad file must not hide every VM)
    // and reported by Check as a bad-record.
    if (data.ok()) {
      Vm vm;
      // Not one protobuf log line per bad record on every ls.
      google::protobuf::LogSilencer quiet;
      if (vm.ParseFromString(*data) && vm.id() == id) {
        vms.push_back(std::move(vm));
      } else if (strict) {
        return absl::DataLossError(absl::StrCat(
            dir, "/", name, ": cannot parse record (or its id differs)"));
      }
    } else if (strict && !absl::IsNotFound(data.status())) {
      return data.status();
    }
    errno = 0;
  }
  if (errno != 0) return ErrnoError(errno, "readdir", dir);
  std::sort(vms.begin(), vms.end(), [](const Vm& a, const Vm& b) {
    if (a.config().name() != b.config().name()) {
      return a.config().name() < b.config().name();
    }
    return a.id() < b.id();
  });
  return vms;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
Index::DanglingNames() const {
  Store store(db_);
  ASSIGN_OR_RETURN(std::vector<std::string> entries,
                   store.ListDir(store.NamesDir()));
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& e : entries) {
    if (e[0] == '.') continue;  // a name move's temp link: Check's
    absl::StatusOr<std::optional<std::string>> target = store.ReadName(e);
    if (!target.ok() || !target->has_value()) continue;
    if (!record::IsValidId(**target)) continue;
    if (!store.NameIsValid(e, **target)) out.emplace_back(e, **target);
  }
  return out;
}

absl::Status Index::RemoveDanglingName(absl::string_view name,
                                       absl::string_view id) {
  Store store(db_);
  if (!record::IsValidName(name) || !record::IsValidId(id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("name link \"", name, "\" -> \"", id, "\": malformed"));
  }
  struct stat st;
  bool existed = ::lstat(store.LockPath(id).c_str(), &st) == 0;
  ASSIGN_OR_RETURN(std::optional<FileLock> lock, store.TryLock(id));
  if (!lock.has_value()) {
    return absl::UnavailableError(absl::StrCat(
        "name \"", name, "\": an operation on vm ", id, " is in flight"));
  }
  absl::Cleanup drop = [&] {
    if (!existed) store.DropLockIfNoRecord(*lock, id).IgnoreError();
  };
  ASSIGN_OR_RETURN(std::optional<std::string> target, store.ReadName(name));
  if (target != id || store.NameIsValid(name, id)) {
    return absl::FailedPreconditionError(
        absl::StrCat("name \"", name, "\": no longer a dangling link to ", id));
  }
  return store.ReleaseName(name, id);
}

}  // namespace chtools::index
