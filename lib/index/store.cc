// Store: primitive steps on the index database (see store.h, index.h).
#include "lib/index/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/stubs/logging.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/atomic_file.h"
#include "lib/fs/io.h"
#include "lib/record/ids.h"
#include "lib/record/timestamps.h"

namespace chtools::index {

using ::chtools::fs::FileLock;
using ::chtools::fs::FsyncDir;
using ::chtools::fs::ReadFileToString;
using ::chtools::fs::WriteFileAtomically;
namespace {

absl::Status MkdirIfMissing(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError(errno, "mkdir", dir);
  }
  return absl::OkStatus();
}

// A line of put.ids: 16 hex characters and a newline.
constexpr size_t kIdLineBytes = 17;

// WriteRecords syncs batches up to this size file by file, larger ones with
// one syncfs.
constexpr size_t kFsyncEachUpTo = 8;

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

}  // namespace

std::string FormatRecordTime(absl::Time t) { return record::FormatTime(t); }

std::string Store::RecordPath(absl::string_view id) const {
  return absl::StrCat(db_, "/vms/", id, ".pb");
}
std::string Store::NamePath(absl::string_view name) const {
  return absl::StrCat(db_, "/names/", name);
}
std::string Store::LockPath(absl::string_view id) const {
  return absl::StrCat(db_, "/locks/", id);
}

absl::Status Store::Init() const {
  RETURN_IF_ERROR(MkdirIfMissing(db_));
  RETURN_IF_ERROR(MkdirIfMissing(VmsDir()));
  RETURN_IF_ERROR(MkdirIfMissing(NamesDir()));
  return MkdirIfMissing(LocksDir());
}

absl::StatusOr<std::optional<Vm>> Store::ReadRecord(
    absl::string_view id) const {
  std::string path = RecordPath(id);
  absl::StatusOr<std::string> data = ReadFileToString(path);
  if (!data.ok()) {
    if (absl::IsNotFound(data.status())) return std::nullopt;
    return data.status();
  }
  Vm vm;
  // The error below says it; protobuf's own log line would only repeat it.
  google::protobuf::LogSilencer quiet;
  if (!vm.ParseFromString(*data)) {
    return absl::DataLossError(absl::StrCat(path, ": cannot parse record"));
  }
  return vm;
}

bool Store::RecordExists(absl::string_view id) const {
  struct stat st;
  return ::stat(RecordPath(id).c_str(), &st) == 0;
}

absl::Status Store::WriteRecord(const Vm& vm) const {
  std::string data;
  if (vm.pid() != 0 || !vm.api_socket().empty()) {
    Vm stored = vm;
    stored.clear_pid();
    stored.clear_api_socket();
    stored.SerializeToString(&data);
  } else {
    vm.SerializeToString(&data);
  }
  return WriteFileAtomically(RecordPath(vm.id()), data, 0644);
}

absl::Status Store::WriteRecords(const std::vector<const Vm*>& vms) const {
  if (vms.empty()) return absl::OkStatus();
  static std::atomic<unsigned> counter{0};
  std::string dir = VmsDir();
  UniqueFd dir_fd(RetryEintr(
      [&] { return ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); }));
  if (!dir_fd) return ErrnoError(errno, "open", dir);
  // temps[i] is renamed to targets[i]; renamed counts those done.
  std::vector<std::string> temps, targets;
  temps.reserve(vms.size());
  targets.reserve(vms.size());
  size_t renamed = 0;
  absl::Cleanup remove_temps = [&] {
    for (size_t i = renamed; i < temps.size(); ++i) {
      ::unlinkat(dir_fd.get(), temps[i].c_str(), 0);
    }
  };
  // A few records: an fsync each (syncfs would also wait for whatever else
  // is dirty on the filesystem). Many: one flush of the filesystem instead
  // of one journal commit per file.
  const bool use_syncfs = vms.size() > kFsyncEachUpTo;
  std::string data;
  for (const Vm* vm : vms) {
    data.clear();
    if (vm->pid() != 0 || !vm->api_socket().empty()) {
      Vm stored = *vm;
      stored.clear_pid();
      stored.clear_api_socket();
      stored.SerializeToString(&data);
    } else {
      vm->SerializeToString(&data);
    }
    // The temp name Check knows (".<id>.pb.tmp-"), made exclusively.
    UniqueFd fd;
    std::string temp;
    for (int attempt = 0; !fd && attempt < 100; ++attempt) {
      temp = absl::StrCat(".", vm->id(), ".pb.tmp-b", ::getpid(), "-",
                          counter.fetch_add(1));
      fd = UniqueFd(RetryEintr([&] {
        return ::openat(dir_fd.get(), temp.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0644);
      }));
      if (!fd && errno != EEXIST) {
        return ErrnoError(errno, "open", absl::StrCat(dir, "/", temp));
      }
    }
    if (!fd) return ErrnoError(EEXIST, "open", absl::StrCat(dir, "/", temp));
    temps.push_back(temp);
    targets.push_back(absl::StrCat(vm->id(), ".pb"));
    RETURN_IF_ERROR(fs::WriteAll(fd.get(), data, absl::StrCat(dir, "/", temp)));
    if (!use_syncfs && RetryEintr([&] { return ::fsync(fd.get()); }) != 0) {
      return ErrnoError(errno, "fsync", absl::StrCat(dir, "/", temp));
    }
    RETURN_IF_ERROR(fd.Close());
  }
  // Every temp file's data is durable before any of them replaces a record.
  // (syncfs reports writeback errors since Linux 5.8.)
  if (use_syncfs && RetryEintr([&] { return ::syncfs(dir_fd.get()); }) != 0) {
    return ErrnoError(errno, "syncfs", dir);
  }
  for (; renamed < temps.size(); ++renamed) {
    if (::renameat(dir_fd.get(), temps[renamed].c_str(), dir_fd.get(),
                   targets[renamed].c_str()) != 0) {
      int err = errno;
      absl::Status failed =
          ErrnoError(err, "rename", absl::StrCat(dir, "/", targets[renamed]));
      // What was renamed is committed; make it durable as promised.
      if (renamed > 0) ::fsync(dir_fd.get());
      return failed;
    }
  }
  if (RetryEintr([&] { return ::fsync(dir_fd.get()); }) != 0) {
    return ErrnoError(errno, "fsync", dir);
  }
  return absl::OkStatus();
}

absl::Status Store::RemoveRecord(absl::string_view id) const {
  std::string path = RecordPath(id);
  if (::unlink(path.c_str()) != 0) return ErrnoError(errno, "unlink", path);
  return FsyncDir(VmsDir());
}

absl::StatusOr<std::optional<std::string>> Store::ReadName(
    absl::string_view name) const {
  std::string path = NamePath(name);
  char buf[256];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf));
  if (n < 0) {
    if (errno == ENOENT) return std::nullopt;
    return ErrnoError(errno, "readlink", path);
  }
  return std::string(buf, static_cast<size_t>(n));
}

bool Store::NameIsValid(absl::string_view name, absl::string_view id) const {
  absl::StatusOr<std::optional<Vm>> vm = ReadRecord(id);
  // An unreadable record may still own the name: never steal it.
  if (!vm.ok()) return true;
  return vm->has_value() && (*vm)->config().name() == name;
}

absl::Status Store::ClaimName(absl::string_view name, absl::string_view id,
                              const absl::flat_hash_set<std::string>& held,
                              bool sync) const {
  std::string path = NamePath(name);
  std::string target_id(id);
  // Each pass either claims the name, reports who holds it, or removes one
  // dangling link; a link can be re-created under us only by a racing claim,
  // so a few passes always settle.
  for (int attempt = 0; attempt < 16; ++attempt) {
    if (::symlink(target_id.c_str(), path.c_str()) == 0) {
      return sync ? FsyncDir(NamesDir()) : absl::OkStatus();
    }
    if (errno != EEXIST) return ErrnoError(errno, "symlink", path);
    ASSIGN_OR_RETURN(std::optional<std::string> other, ReadName(name));
    if (!other.has_value()) continue;
    if (*other == id) return absl::OkStatus();
    auto in_use = [&] {
      return absl::AlreadyExistsError(
          absl::StrCat("vm \"", name, "\": name already used by ", *other));
    };
    if (NameIsValid(name, *other)) return in_use();
    std::optional<FileLock> other_lock;
    if (!held.contains(*other)) {
      if (!record::IsValidId(*other)) {
        // Not a link this index made; only Check(repair) touches it.
        return in_use();
      }
      ASSIGN_OR_RETURN(other_lock, TryLock(*other));
      // Busy: an operation on that VM is in flight and may be about to make
      // the link valid.
      if (!other_lock.has_value()) return in_use();
    }
    ASSIGN_OR_RETURN(std::optional<std::string> again, ReadName(name));
    if (again == other && !NameIsValid(name, *other)) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return ErrnoError(errno, "unlink", path);
      }
    }
    if (other_lock.has_value()) {
      RETURN_IF_ERROR(DropLockIfNoRecord(*other_lock, *other));
    }
  }
  return absl::AbortedError(
      absl::StrCat("vm \"", name, "\": name claim kept racing; try again"));
}

absl::Status Store::ReplaceName(absl::string_view name,
                                absl::string_view id) const {
  static std::atomic<unsigned> counter{0};
  std::string path = NamePath(name);
  std::string temp = absl::StrCat(NamesDir(), "/.", name, ".tmp-", ::getpid(),
                                  "-", counter.fetch_add(1));
  std::string target(id);
  ::unlink(temp.c_str());
  if (::symlink(target.c_str(), temp.c_str()) != 0) {
    return ErrnoError(errno, "symlink", temp);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return ErrnoError(err, "rename", path);
  }
  return FsyncDir(NamesDir());
}

absl::Status Store::ReleaseName(absl::string_view name, absl::string_view id,
                                bool sync) const {
  ASSIGN_OR_RETURN(std::optional<std::string> current, ReadName(name));
  if (current != id) return absl::OkStatus();
  std::string path = NamePath(name);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, "unlink", path);
  }
  return sync ? FsyncDir(NamesDir()) : absl::OkStatus();
}

absl::Status Store::SyncNames() const { return FsyncDir(NamesDir()); }

absl::StatusOr<FileLock> Store::Lock(absl::string_view id) const {
  absl::Time deadline = absl::Now() + kLockTimeout;
  absl::Duration pause = absl::Milliseconds(1);
  for (;;) {
    ASSIGN_OR_RETURN(
        FileLock lock,
        FileLock::Acquire(LockPath(id), std::max(deadline - absl::Now(),
                                                 absl::ZeroDuration())));
    // Checked under the lock: a put publishes put.ids before it takes the
    // lock of any VM it lists, so either it waits for us or we see the list.
    ASSIGN_OR_RETURN(bool in_put, InRunningPut(id));
    if (!in_put) return lock;
    // The put owns this VM until it ends: let go and wait.
    { FileLock released = std::move(lock); }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("lock ", LockPath(id), ": vm ", id,
                       " is part of a put still running after ",
                       absl::FormatDuration(kLockTimeout)));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(50));
  }
}

absl::StatusOr<std::optional<FileLock>> Store::TryLock(
    absl::string_view id) const {
  // Before: not to make a lock file for a VM a put is about to write. After,
  // under the lock: a put that started in between either waits for us or is
  // listed by now.
  ASSIGN_OR_RETURN(bool in_put, InRunningPut(id));
  if (in_put) return std::nullopt;
  ASSIGN_OR_RETURN(std::optional<FileLock> lock,
                   FileLock::TryAcquire(LockPath(id)));
  if (!lock.has_value()) return std::nullopt;
  ASSIGN_OR_RETURN(in_put, InRunningPut(id));
  if (in_put) return std::nullopt;
  return lock;
}

absl::StatusOr<FileLock> Store::LockForPut(absl::string_view id) const {
  return FileLock::Acquire(LockPath(id), kLockTimeout);
}

absl::StatusOr<FileLock> Store::BeginPut(
    const std::vector<std::string>& sorted_ids) const {
  ASSIGN_OR_RETURN(FileLock lock,
                   FileLock::Acquire(PutLockPath(), kLockTimeout));
  std::string data;
  data.reserve(sorted_ids.size() * kIdLineBytes);
  for (const std::string& id : sorted_ids) absl::StrAppend(&data, id, "\n");
  // Not fsynced: the list means something only while put.lock is held, and
  // a crash releases that.
  RETURN_IF_ERROR(
      WriteFileAtomically(PutIdsPath(), data, 0600, /*sync=*/false));
  return lock;
}

absl::Status Store::EndPut() const {
  std::string path = PutIdsPath();
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, "unlink", path);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Store::PutRunning() const {
  std::string path = PutLockPath();
  // Opened without O_CREAT: only a put makes put.lock.
  UniqueFd fd(
      RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd) {
    if (errno == ENOENT) return false;
    return ErrnoError(errno, "open", path);
  }
  if (RetryEintr([&] { return ::flock(fd.get(), LOCK_SH | LOCK_NB); }) != 0) {
    if (errno == EWOULDBLOCK) return true;
    return ErrnoError(errno, "flock", path);
  }
  return false;
}

absl::StatusOr<bool> Store::InRunningPut(absl::string_view id) const {
  std::string path = PutIdsPath();
  struct stat st;
  // The common case, no put anywhere: one stat.
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return ErrnoError(errno, "stat", path);
  }
  ASSIGN_OR_RETURN(bool running, PutRunning());
  if (!running) return false;
  absl::StatusOr<std::string> ids = ReadFileToString(path);
  if (!ids.ok()) {
    if (absl::IsNotFound(ids.status())) return false;  // it just ended
    return ids.status();
  }
  // Sorted lines of 16 characters each: a binary search by line.
  absl::string_view list = *ids;
  size_t lo = 0, hi = list.size() / kIdLineBytes;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    absl::string_view line = list.substr(mid * kIdLineBytes, kIdLineBytes - 1);
    if (line == id) return true;
    if (line < id) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return false;
}

absl::Status Store::DropLockIfNoRecord(FileLock& lock,
                                       absl::string_view id) const {
  if (RecordExists(id)) return absl::OkStatus();
  return lock.RemoveFile();
}

absl::StatusOr<std::vector<std::string>> Store::ListDir(
    const std::string& dir) const {
  DirPtr d(::opendir(dir.c_str()));
  if (!d) return ErrnoError(errno, "opendir", dir);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d.get())) {
    absl::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
    errno = 0;
  }
  if (errno != 0) return ErrnoError(errno, "readdir", dir);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace chtools::index
