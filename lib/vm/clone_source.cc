#include "lib/vm/clone_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lib/archive/confined_reader.h"
#include "lib/archive/manifest.h"
#include "lib/archive/reader.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/fs/io.h"
#include "lib/record/validate.h"
#include "lib/vm/snapshot_json.h"

namespace chtools::vm::clone_internal {
namespace {

using archive::kCidataImg;
using archive::kConfigJson;
using archive::kCowRaw;
using archive::kMemoryRanges;
using archive::kOverlayQcow2;
using archive::kStateJson;

// A small file of a snapshot dir, opened without following symlinks.
absl::StatusOr<std::string> ReadAt(int dirfd, absl::string_view name,
                                   uint64_t limit) {
  std::string n(name);
  UniqueFd fd(::openat(dirfd, n.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, "open", n);
  return fs::ReadAll(fd.get(), n, limit);
}

// The snapshot's files as they are found in `dirfd`: each listed file a
// regular file of the listed size. Sizes only: hashing GBs at every clone
// would be the clone's whole cost (the store hashed them at capture; the
// archive reader at import/clone).
absl::Status CheckFiles(const Snapshot& s, int dirfd) {
  for (const SnapshotFile& f : s.files()) {
    struct stat st;
    if (::fstatat(dirfd, f.name().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError(errno, "stat", f.name());
    }
    if (!S_ISREG(st.st_mode)) {
      return absl::DataLossError(
          absl::StrCat(f.name(), ": not a regular file"));
    }
    if (st.st_size != f.size_bytes()) {
      return absl::DataLossError(
          absl::StrCat(f.name(), ": ", st.st_size,
                       " bytes, the snapshot's record says ", f.size_bytes()));
    }
  }
  return absl::OkStatus();
}

// memory-ranges as long as the RAM state.json describes (CH v51 never
// finishes restoring from a shorter one, docs/ch-v51.md §4.5).
absl::Status CheckRam(const Snapshot& s, uint64_t ram) {
  uint64_t have = 0;
  for (const SnapshotFile& f : s.files()) {
    if (f.name() == kMemoryRanges) have = f.size_bytes();
  }
  if (have != ram) {
    return absl::DataLossError(absl::StrCat(
        "memory-ranges: ", have, " bytes, but state.json describes ", ram,
        " bytes of RAM (Cloud Hypervisor would never finish restoring)"));
  }
  return absl::OkStatus();
}

// Where config.json and state.json are parsed and rewritten: in a confined
// child (snapshot_json.h) unless the settings say no_seccomp.
JsonSandbox JsonWhere(const Env& env) {
  return env.config.no_seccomp() ? JsonSandbox::kInProcess
                                 : JsonSandbox::kConfined;
}

// What every snapshot's files go through, wherever they are (f.record and
// f.dirfd set): config.json and state.json read, the files' sizes checked,
// both JSON files parsed (confined), memory-ranges against the RAM.
absl::Status ReadAndCheck(SnapshotFiles& f, const archive::ReadLimits& limits,
                          JsonSandbox where) {
  ASSIGN_OR_RETURN(f.config_text,
                   ReadAt(f.dirfd.get(), kConfigJson, limits.max_json_bytes));
  ASSIGN_OR_RETURN(f.state_text,
                   ReadAt(f.dirfd.get(), kStateJson, limits.max_json_bytes));
  RETURN_IF_ERROR(CheckFiles(f.record, f.dirfd.get()));
  ASSIGN_OR_RETURN(
      SnapshotJson json,
      ReadSnapshotJson(f.config_text, kConfigJson, f.state_text, where));
  RETURN_IF_ERROR(CheckRam(f.record, json.ram_bytes));
  f.config = std::move(json.config);
  return absl::OkStatus();
}

}  // namespace

std::string Basename(absl::string_view p) {
  size_t s = p.rfind('/');
  return std::string(s == absl::string_view::npos ? p : p.substr(s + 1));
}

absl::StatusOr<UniqueFd> OpenDir(const std::string& path) {
  UniqueFd fd(
      ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, "open", path);
  return fd;
}

bool HasFile(const Snapshot& s, absl::string_view name) {
  for (const SnapshotFile& f : s.files()) {
    if (f.name() == name) return true;
  }
  return false;
}

absl::StatusOr<SnapshotFiles> FromStore(const Env& env,
                                        const snapshot::Store& store,
                                        absl::string_view id) {
  SnapshotFiles f;
  ASSIGN_OR_RETURN(f.record, store.Get(id));
  RETURN_IF_ERROR(record::ValidateSnapshot(f.record, "snapshot"));
  archive::ReadLimits limits;
  RETURN_IF_ERROR(archive::CheckManifest(f.record, limits));
  f.dir = store.DirOf(f.record.id());
  ASSIGN_OR_RETURN(f.dirfd, OpenDir(f.dir));
  RETURN_IF_ERROR(ReadAndCheck(f, limits, JsonWhere(env)));
  return f;
}

absl::StatusOr<SnapshotFiles> FromArchive(const Env& env, int archive_fd,
                                          const std::string& archive_name,
                                          const std::string& dir) {
  SnapshotFiles f;
  f.dir = dir;
  ASSIGN_OR_RETURN(f.dirfd, OpenDir(dir));
  archive::ReadLimits limits;
  // The archive is parsed in a child confined by seccomp (lib/sandbox) unless
  // the settings say no_seccomp; `dir` is fresh and private, and removed by
  // the caller on failure, as the confined reader needs.
  ASSIGN_OR_RETURN(
      f.record, env.config.no_seccomp()
                    ? archive::ExtractSnapshotArchive(archive_fd, archive_name,
                                                      f.dirfd.get(), limits)
                    : archive::ExtractSnapshotArchiveConfined(
                          archive_fd, archive_name, f.dirfd.get(), limits));
  RETURN_IF_ERROR(ReadAndCheck(f, limits, JsonWhere(env)));
  return f;
}

absl::Status CheckPayload(const SnapshotFiles& f) {
  const BootConfig& b = f.record.boot();
  struct {
    const char* field;
    const std::string& got;
    const std::string& want;
  } checks[] = {{"payload.kernel", f.config.kernel, b.kernel_path()},
                {"payload.initramfs", f.config.initramfs, b.initrd_path()},
                {"payload.firmware", f.config.firmware, b.firmware_path()}};
  for (const auto& c : checks) {
    if (c.got != c.want) {
      return absl::InvalidArgumentError(
          absl::StrCat("config.json: ", c.field, ": \"", c.got,
                       "\" is not the snapshot record's \"", c.want, "\""));
    }
  }
  if (f.record.direct_boot() != !b.kernel_path().empty()) {
    return absl::InvalidArgumentError(
        "snapshot record: direct_boot disagrees with boot.kernel_path");
  }
  return absl::OkStatus();
}

absl::StatusOr<DiskPlan> PlanDisks(const SnapshotFiles& f, const VmPaths& p) {
  DiskPlan plan;
  const bool direct = f.record.direct_boot();
  plan.writable_file = std::string(direct ? kCowRaw : kOverlayQcow2);
  std::set<std::string> listed_ro;
  for (const StorageConfig& s : f.record.storage()) {
    if (s.ro()) listed_ro.insert(s.path());
  }
  int writable = 0;
  for (size_t i = 0; i < f.config.disks.size(); ++i) {
    const ChDisk& d = f.config.disks[i];
    const std::string field = absl::StrCat("config.json: disks[", i, "]");
    StorageConfig sc;
    sc.set_ro(d.readonly);
    sc.set_serial(d.serial);
    if (!d.readonly) {
      if (++writable > 1) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ": a second writable disk"));
      }
      if (!HasFile(f.record, plan.writable_file)) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, ": the snapshot holds no ", plan.writable_file));
      }
      sc.set_path(direct ? p.cow_raw : p.overlay);
    } else if (!direct && Basename(d.path) == kCidataImg) {
      plan.had_cidata = true;
      sc.set_path(p.cidata);
    } else {
      if (!f.record.storage().empty() && !listed_ro.contains(d.path)) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".path: \"", d.path,
                         "\" is not a read-only disk of the snapshot's "
                         "record"));
      }
      sc.set_path(d.path);
      plan.ro_files.insert(d.path);
    }
    plan.paths.push_back(sc.path());
    plan.storage.push_back(sc);
  }
  if (writable == 0) {
    return absl::InvalidArgumentError("config.json: disks: no writable disk");
  }
  for (const std::string* b :
       {&f.record.boot().kernel_path(), &f.record.boot().initrd_path(),
        &f.record.boot().firmware_path()}) {
    if (!b->empty()) plan.ro_files.insert(*b);
  }
  return plan;
}

absl::StatusOr<RewrittenJson> Rewrite(const Env& env, const SnapshotFiles& f,
                                      const DiskPlan& disks, const VmPaths& p,
                                      const std::vector<std::string>& taps) {
  ConfigRewrite rw;
  rw.run_dir = p.run_dir;
  rw.disk_paths = disks.paths;
  rw.taps = taps;
  rw.direct_boot = f.record.direct_boot();
  rw.console_socket = p.console_socket;
  rw.allowed_ro_files = disks.ro_files;
  std::map<std::string, std::string> moved;
  for (size_t i = 0; i < f.config.disks.size(); ++i) {
    if (f.config.disks[i].path != disks.paths[i]) {
      moved[f.config.disks[i].path] = disks.paths[i];
    }
  }
  return RewriteSnapshotJson(
      f.config_text, kConfigJson, f.state_text, kStateJson, rw, moved,
      archive::ReadLimits().max_json_bytes, JsonWhere(env));
}

}  // namespace chtools::vm::clone_internal
