#include "lib/vm/capture.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"
#include "lib/base/interrupt.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/reflink.h"
#include "lib/fs/sparse_copy.h"
#include "lib/fs/zero_holes.h"
#include "lib/hash/sha256.h"
#include "lib/launch/ch_command.h"
#include "lib/record/ids.h"
#include "lib/record/printable.h"
#include "lib/record/timestamps.h"
#include "lib/record/validate.h"
#include "lib/vm/lifecycle.h"
#include "lib/vm/op_lock.h"
#include "lib/vm/paths.h"

namespace chtools::vm {
namespace {

absl::StatusOr<UniqueFd> OpenSource(const std::string& path) {
  UniqueFd fd(RetryEintr(
      [&] { return ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC); }));
  if (!fd.valid()) return ErrnoError(errno, "open", path);
  return fd;
}

absl::StatusOr<UniqueFd> CreateIn(const snapshot::TempDir& dir,
                                  const std::string& name) {
  UniqueFd fd(RetryEintr([&] {
    return ::openat(dir.fd(), name.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  }));
  if (!fd.valid())
    return ErrnoError(errno, "create", absl::StrCat(dir.path(), "/", name));
  return fd;
}

// Copies `src` into `dir`/`name`: a reflink where the filesystem can, else
// a sparse copy. Returns which.
absl::StatusOr<std::string> CopyInto(const std::string& src,
                                     const snapshot::TempDir& dir,
                                     const std::string& name) {
  ASSIGN_OR_RETURN(UniqueFd in, OpenSource(src));
  ASSIGN_OR_RETURN(UniqueFd out, CreateIn(dir, name));
  const std::string dst = absl::StrCat(dir.path(), "/", name);
  ASSIGN_OR_RETURN(fs::CloneResult r,
                   fs::CloneOrCopy(in.get(), out.get(), src, dst));
  RETURN_IF_ERROR(out.Close());
  return std::string(r.method == fs::CopyMethod::kReflink ? "reflink"
                                                          : "sparse copy");
}

absl::StatusOr<SnapshotFile> Manifest(const snapshot::TempDir& dir,
                                      const std::string& name,
                                      bool punch_zeros) {
  const std::string path = absl::StrCat(dir.path(), "/", name);
  UniqueFd fd(RetryEintr([&] {
    return ::openat(dir.fd(), name.c_str(),
                    (punch_zeros ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC);
  }));
  if (!fd.valid()) return ErrnoError(errno, "open", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError(errno, "fstat", path);
  if (!S_ISREG(st.st_mode)) {
    return absl::DataLossError(absl::StrCat(path, ": not a regular file"));
  }
  SnapshotFile f;
  f.set_name(name);
  f.set_size_bytes(st.st_size);
  if (punch_zeros) {
    ASSIGN_OR_RETURN(fs::ZeroHoleStats z,
                     fs::PunchZerosAndHash(fd.get(), path));
    f.set_sha256(z.sha256);
  } else {
    ASSIGN_OR_RETURN(std::string sha, hash::Sha256Fd(fd.get(), path));
    f.set_sha256(sha);
  }
  return f;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

absl::StatusOr<Snapshot> CaptureVm(
    const Env& env, const snapshot::Store& store, absl::string_view id,
    const CaptureOptions& options, bool record_on_vm,
    const std::function<absl::StatusOr<Snapshot>(Captured&)>& with_snapshot) {
  ASSIGN_OR_RETURN(fs::FileLock lock, LockVm(env.config, id, LockWait(env)));
  ASSIGN_OR_RETURN(Vm vm, LoadVm(env, id));
  ASSIGN_OR_RETURN(std::optional<process::ChProcess> ch, FindCh(env, vm));
  if (!ch)
    return absl::FailedPreconditionError(
        "is not running (no live cloud-hypervisor)");
  const VmPaths p = PathsFor(env.config, vm.id());
  const bool direct = launch::IsDirectBoot(vm);
  const std::string disk_name = direct ? "cow.raw" : "overlay.qcow2";
  const std::string disk = direct ? p.cow_raw : p.overlay;

  Captured c{.record = {},
             .dir = snapshot::TempDir("", UniqueFd()),
             .resume_error = {},
             .times = {}};
  const std::string snap_id = record::NewId();
  ASSIGN_OR_RETURN(c.dir, store.NewTemp(snap_id));

  // The pause window. A signal arriving in it is noted, not obeyed, until
  // the VM runs again.
  std::optional<InterruptGuard> guard;
  guard.emplace();
  std::unique_ptr<chapi::Client> api = env.api(p.api_socket, absl::Seconds(30));
  const absl::Time t0 = env.now();
  absl::Status window = api->Pause();
  if (window.ok()) {
    const absl::Time s0 = env.now();
    window = api->Snapshot(absl::StrCat("file://", c.dir.path()));
    c.times.snapshot_call = env.now() - s0;
  }
  if (window.ok()) {
    const absl::Time d0 = env.now();
    absl::StatusOr<std::string> how = CopyInto(disk, c.dir, disk_name);
    c.times.disk_copy = env.now() - d0;
    if (how.ok()) c.times.disk_copy_method = *how;
    window = how.status();
  }
  // Exactly once, whatever happened above (pause itself may have failed
  // half way; "already running" counts as success).
  c.resume_error = api->Resume();
  c.times.pause_window = env.now() - t0;
  guard.reset();
  if (!c.resume_error.ok()) {
    const std::string why = std::string(c.resume_error.message());
    (void)env.index->Update(vm.id(), [&](Vm& r) {
      r.set_state(Vm::ERROR);
      r.set_error(
          record::ValidText(absl::StrCat("snapshot: vm.resume failed: ", why),
                            record::kMaxTextBytes));
      return absl::OkStatus();
    });
    if (!window.ok()) {
      return absl::Status(
          window.code(),
          absl::StrCat(window.message(), "; and the VM could not be resumed (",
                       why, "): marked ERROR"));
    }
  }
  RETURN_IF_ERROR(window);
  RETURN_IF_ERROR(InterruptStatus("snapshot"));

  // Outside the window.
  if (!direct && Exists(p.cidata)) {
    RETURN_IF_ERROR(CopyInto(p.cidata, c.dir, "cidata.img").status());
  }
  Snapshot& s = c.record;
  s.set_id(snap_id);
  s.set_name(options.name);
  s.set_description(options.description);
  s.set_source_vm_id(vm.id());
  s.set_source_vm_name(vm.config().name());
  s.set_image(vm.config().image());
  *s.mutable_image_blob_ids() = vm.image_blob_ids();
  s.set_cpu(vm.config().cpu());
  s.set_memory_bytes(vm.config().memory_bytes());
  s.set_storage_bytes(vm.config().storage_bytes());
  s.set_nics(vm.network_size());
  s.set_windows(vm.config().windows());
  s.set_direct_boot(direct);
  *s.mutable_boot() = vm.boot();
  *s.mutable_storage() = vm.storage();
  s.set_created_at(record::FormatTime(env.now()));
  for (const char* name : {"config.json", "state.json", "memory-ranges"}) {
    ASSIGN_OR_RETURN(
        *s.add_files(),
        Manifest(c.dir, name, std::string(name) == "memory-ranges"));
  }
  ASSIGN_OR_RETURN(*s.add_files(), Manifest(c.dir, disk_name, false));
  if (Exists(absl::StrCat(c.dir.path(), "/cidata.img"))) {
    ASSIGN_OR_RETURN(*s.add_files(), Manifest(c.dir, "cidata.img", false));
  }
  RETURN_IF_ERROR(InterruptStatus("snapshot"));
  ASSIGN_OR_RETURN(Snapshot done, with_snapshot(c));
  if (record_on_vm) {
    RETURN_IF_ERROR(env.index
                        ->Update(vm.id(),
                                 [&](Vm& r) {
                                   r.add_snapshot_ids(done.id());
                                   return absl::OkStatus();
                                 })
                        .status());
  }
  if (!c.resume_error.ok()) {
    return absl::Status(c.resume_error.code(),
                        absl::StrCat("snapshot ", done.id(),
                                     " was taken, but the VM could not be "
                                     "resumed and is marked ERROR: ",
                                     c.resume_error.message()));
  }
  return done;
}

}  // namespace chtools::vm
