#include "lib/snapshot/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/fs/atomic_file.h"
#include "lib/fs/files.h"
#include "lib/fs/io.h"
#include "lib/hash/sha256.h"
#include "lib/record/ids.h"
#include "lib/record/textproto.h"
#include "lib/record/validate.h"

namespace chtools::snapshot {
namespace {

absl::Status NotFoundSnap(absl::string_view ref) {
  return absl::NotFoundError(absl::StrCat("snapshot \"", ref, "\": not found"));
}

absl::StatusOr<Snapshot> ReadRecordAt(const std::string& dir) {
  ASSIGN_OR_RETURN(
      std::string text,
      fs::ReadFileToString(absl::StrCat(dir, "/", kRecordFile), 1 << 20));
  ASSIGN_OR_RETURN(Records r, record::ParseRecords(
                                  text, absl::StrCat(dir, "/", kRecordFile)));
  if (r.snapshot_size() != 1 || r.vm_size() != 0 || r.finding_size() != 0) {
    return absl::DataLossError(
        absl::StrCat(dir, "/", kRecordFile, ": not one snapshot record"));
  }
  Snapshot s = r.snapshot(0);
  RETURN_IF_ERROR(record::ValidateSnapshot(s, ""));
  s.set_data_dir(dir);
  return s;
}

}  // namespace

TempDir::~TempDir() {
  if (!path_.empty()) (void)fs::RemoveTree(path_);
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(absl::string_view root_dir) {
  std::string dir = absl::StrCat(root_dir, "/cloudhypervisor/snapshots");
  RETURN_IF_ERROR(fs::MakeDirs(dir, 0700));
  return std::unique_ptr<Store>(new Store(dir));
}

absl::StatusOr<UniqueFd> Store::LockStore() const {
  std::string path = dir_ + "/.lock";
  UniqueFd fd(RetryEintr([&] {
    return ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                  0600);
  }));
  if (!fd.valid()) return ErrnoError(errno, "open", path);
  if (RetryEintr([&] { return ::flock(fd.get(), LOCK_EX); }) != 0) {
    return ErrnoError(errno, "flock", path);
  }
  return fd;
}

absl::StatusOr<std::optional<UniqueFd>> Store::TryLockStore() const {
  std::string path = dir_ + "/.lock";
  UniqueFd fd(RetryEintr([&] {
    return ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                  0600);
  }));
  if (!fd.valid()) return ErrnoError(errno, "open", path);
  if (RetryEintr([&] { return ::flock(fd.get(), LOCK_EX | LOCK_NB); }) != 0) {
    if (errno == EWOULDBLOCK) return std::optional<UniqueFd>();
    return ErrnoError(errno, "flock", path);
  }
  return std::optional<UniqueFd>(std::move(fd));
}

absl::StatusOr<std::vector<Snapshot>> Store::List() const {
  std::vector<Snapshot> out;
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return ErrnoError(errno, "opendir", dir_);
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (!record::IsValidId(name)) continue;  // ., .., .tmp-*, .rm-*, .lock
    absl::StatusOr<Snapshot> s = ReadRecordAt(DirOf(name));
    if (s.ok() && s->id() == name) out.push_back(*std::move(s));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const Snapshot& a, const Snapshot& b) {
    return std::tie(a.created_at(), a.id()) < std::tie(b.created_at(), b.id());
  });
  return out;
}

absl::StatusOr<Snapshot> Store::Get(absl::string_view id) const {
  if (!record::IsValidId(id)) return NotFoundSnap(id);
  absl::StatusOr<Snapshot> s = ReadRecordAt(DirOf(id));
  if (absl::IsNotFound(s.status())) return NotFoundSnap(id);
  if (s.ok() && s->id() != id) {
    return absl::DataLossError(
        absl::StrCat("snapshot ", id, ": its record names ", s->id()));
  }
  return s;
}

absl::StatusOr<std::string> Store::Resolve(absl::string_view ref) const {
  if (ref.empty()) return NotFoundSnap(ref);
  if (record::IsValidId(ref)) {
    struct stat st;
    if (::stat(DirOf(ref).c_str(), &st) == 0) return std::string(ref);
  }
  ASSIGN_OR_RETURN(std::vector<Snapshot> all, List());
  for (const Snapshot& s : all) {
    if (!s.name().empty() && s.name() == ref) return s.id();
  }
  if (ref.size() >= 3) {
    std::vector<std::string> hits;
    for (const Snapshot& s : all) {
      if (absl::StartsWith(s.id(), ref)) hits.push_back(s.id());
    }
    if (hits.size() == 1) return hits[0];
    if (hits.size() > 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "snapshot \"", ref,
          "\": ambiguous id prefix, candidates: ", absl::StrJoin(hits, ", ")));
    }
  }
  return NotFoundSnap(ref);
}

absl::StatusOr<TempDir> Store::NewTemp(absl::string_view id) const {
  if (!record::IsValidId(id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot id \"", id, "\" is invalid"));
  }
  struct stat st;
  if (::stat(DirOf(id).c_str(), &st) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("snapshot ", id, " already exists"));
  }
  std::string path = absl::StrCat(dir_, "/.tmp-", id);
  RETURN_IF_ERROR(fs::MakeNewDir(path, 0700));
  UniqueFd fd(RetryEintr([&] {
    return ::open(path.c_str(),
                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }));
  if (!fd.valid()) {
    absl::Status s = ErrnoError(errno, "open", path);
    (void)fs::RemoveTree(path);
    return s;
  }
  return TempDir(path, std::move(fd));
}

absl::StatusOr<Snapshot> Store::Publish(TempDir& temp, Snapshot record) const {
  ASSIGN_OR_RETURN(UniqueFd lock, LockStore());
  ASSIGN_OR_RETURN(std::vector<Snapshot> all, List());
  for (const Snapshot& s : all) {
    if (s.id() == record.id()) {
      return absl::AlreadyExistsError(
          absl::StrCat("snapshot ", record.id(), " already exists"));
    }
    if (!record.name().empty() && (s.name() == record.name() ||
                                   absl::StartsWith(s.id(), record.name()))) {
      return absl::AlreadyExistsError(absl::StrCat(
          "snapshot name \"", record.name(), "\" is taken (by snapshot ",
          s.id(), s.name() == record.name() ? "'s name" : "'s id prefix", ")"));
    }
  }
  record.clear_data_dir();
  RETURN_IF_ERROR(record::ValidateSnapshot(record, "snapshot"));
  Records out;
  *out.add_snapshot() = record;
  const std::string record_path = absl::StrCat(temp.path(), "/", kRecordFile);
  RETURN_IF_ERROR(
      fs::WriteFileAtomically(record_path, record::FormatRecords(out), 0600));
  // Every file durable before the rename makes the snapshot visible.
  for (const SnapshotFile& f : record.files()) {
    UniqueFd fd(RetryEintr([&] {
      return ::openat(temp.fd(), f.name().c_str(),
                      O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }));
    if (!fd.valid())
      return ErrnoError(errno, "open",
                        absl::StrCat(temp.path(), "/", f.name()));
    if (::fsync(fd.get()) != 0) {
      return ErrnoError(errno, "fsync",
                        absl::StrCat(temp.path(), "/", f.name()));
    }
  }
  RETURN_IF_ERROR(fs::FsyncDir(temp.path()));
  const std::string final_dir = DirOf(record.id());
  if (::rename(temp.path().c_str(), final_dir.c_str()) != 0) {
    return ErrnoError(errno, "rename", final_dir);
  }
  temp.Release();
  RETURN_IF_ERROR(fs::FsyncDir(dir_));
  record.set_data_dir(final_dir);
  return record;
}

absl::Status Store::Remove(absl::string_view id) const {
  if (!record::IsValidId(id)) return NotFoundSnap(id);
  ASSIGN_OR_RETURN(UniqueFd lock, LockStore());
  const std::string from = DirOf(id);
  const std::string to = absl::StrCat(dir_, "/.rm-", id);
  if (::rename(from.c_str(), to.c_str()) != 0) {
    if (errno == ENOENT) return NotFoundSnap(id);
    return ErrnoError(errno, "rename", from);
  }
  RETURN_IF_ERROR(fs::FsyncDir(dir_));
  return fs::RemoveTree(to);
}

absl::Status Store::Verify(const Snapshot& record) const {
  const std::string dir = DirOf(record.id());
  for (const SnapshotFile& f : record.files()) {
    const std::string path = absl::StrCat(dir, "/", f.name());
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return ErrnoError(errno, "stat", path);
    if (!S_ISREG(st.st_mode) || st.st_size != f.size_bytes()) {
      return absl::DataLossError(absl::StrCat(path, ": ", st.st_size,
                                              " bytes, the manifest says ",
                                              f.size_bytes()));
    }
    ASSIGN_OR_RETURN(std::string sha, hash::Sha256File(path));
    if (sha != f.sha256()) {
      return absl::DataLossError(absl::StrCat(
          path, ": SHA-256 ", sha, ", the manifest says ", f.sha256()));
    }
  }
  return absl::OkStatus();
}

}  // namespace chtools::snapshot
