#include "lib/vm/clone.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/archive/manifest.h"
#include "lib/archive/reader.h"
#include "lib/base/errno.h"
#include "lib/base/interrupt.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"
#include "lib/chapi/wait_socket.h"
#include "lib/fs/atomic_file.h"
#include "lib/fs/files.h"
#include "lib/fs/io.h"
#include "lib/fs/reflink.h"
#include "lib/fs/unix_socket.h"
#include "lib/launch/ch_command.h"
#include "lib/launch/kernel_cmdline.h"
#include "lib/launch/shell_quote.h"
#include "lib/process/spawn.h"
#include "lib/record/ids.h"
#include "lib/record/timestamps.h"
#include "lib/record/validate.h"
#include "lib/vm/boot_wait.h"
#include "lib/vm/ch_config.h"
#include "lib/vm/clone_source.h"
#include "lib/vm/disks.h"
#include "lib/vm/lifecycle.h"
#include "lib/vm/op_lock.h"
#include "lib/vm/paths.h"
#include "lib/vm/snapshot_json.h"
#include "lib/vm/tap.h"
#include "lib/vm/trust.h"
#include "nlohmann/json.hpp"

namespace chtools::vm {
namespace {

using archive::kCidataImg;
using archive::kConfigJson;
using archive::kMemoryRanges;
using archive::kStateJson;
using clone_internal::Basename;
using clone_internal::CheckPayload;
using clone_internal::DiskPlan;
using clone_internal::FromArchive;
using clone_internal::FromStore;
using clone_internal::HasFile;
using clone_internal::OpenDir;
using clone_internal::PlanDisks;
using clone_internal::Rewrite;
using clone_internal::SnapshotFiles;

std::string Now(const Env& env) { return record::FormatTime(env.now()); }

// Puts `name` of `src_dirfd` into `dst_dirfd` as `dst_name`: a hard link
// when `link` (memory-ranges: CH only reads it, and nothing of chtools ever
// opens it for writing), else a reflink or sparse copy; a copy also when the
// link crosses filesystems. The target is made exclusively.
absl::Status Place(int src_dirfd, const std::string& name, int dst_dirfd,
                   const std::string& dst_name, bool link) {
  if (link) {
    if (::linkat(src_dirfd, name.c_str(), dst_dirfd, dst_name.c_str(), 0) ==
        0) {
      return absl::OkStatus();
    }
    if (errno != EXDEV && errno != EPERM && errno != EMLINK) {
      return ErrnoError(errno, "link", name);
    }
  }
  UniqueFd in(
      ::openat(src_dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in.valid()) return ErrnoError(errno, "open", name);
  UniqueFd out(::openat(dst_dirfd, dst_name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0600));
  if (!out.valid()) return ErrnoError(errno, "create", dst_name);
  return fs::CloneOrCopy(in.get(), out.get(), name, dst_name).status();
}

// Atomically (temp file and rename) in `dir`, which this operation made.
absl::Status WriteIn(const std::string& dir, const std::string& name,
                     absl::string_view data) {
  return fs::WriteFileAtomically(absl::StrCat(dir, "/", name), data, 0600,
                                 /*sync=*/true);
}

// A qcow2 overlay names its backing file inside its header: from another
// host, that is a path CH would open. It must be a regular file outside every
// VM's dirs (the rule of a record's read-only images, lib/vm/trust.h), in
// qcow2 format, and the overlay must have no external data file.
absl::Status CheckOverlayBacking(const Env& env, const std::string& overlay) {
  ASSIGN_OR_RETURN(std::string qemu_img, fs::FindProgram("qemu-img"));
  ASSIGN_OR_RETURN(
      process::CommandResult r,
      env.run({qemu_img, "info", "--output=json", "-U", "-f", "qcow2", overlay},
              absl::Seconds(30)));
  if (r.exit != process::ExitInfo::Exited(0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        Basename(overlay), ": not a qcow2 image qemu-img can read: ", r.err));
  }
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  if (!j.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Basename(overlay), ": qemu-img info: not JSON"));
  }
  auto str = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>()
                                            : std::string();
  };
  const std::string backing = str("backing-filename");
  if (backing.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Basename(overlay),
                     ": has no backing file (a chtools overlay has the "
                     "base image)"));
  }
  if (auto fs_it = j.find("format-specific");
      fs_it != j.end() && fs_it->is_object()) {
    auto d = fs_it->find("data");
    if (d != fs_it->end() && d->is_object() && d->contains("data-file")) {
      return absl::InvalidArgumentError(absl::StrCat(
          Basename(overlay), ": has an external data file: refused"));
    }
  }
  const std::string fmt = str("backing-filename-format");
  if (!fmt.empty() && fmt != "qcow2") {
    return absl::InvalidArgumentError(absl::StrCat(
        Basename(overlay), ": backing format \"", fmt, "\": expected qcow2"));
  }
  if (backing.front() != '/' || absl::StrContains(backing, "/../") ||
      absl::StartsWith(backing, VmRunParent(env.config) + "/") ||
      absl::StartsWith(backing, VmLogParent(env.config) + "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat(Basename(overlay), ": backing file \"", backing,
                     "\" must be an absolute path outside every VM's dirs"));
  }
  return fs::CheckInputFile("base image (the overlay's backing file)", backing);
}

// A CH launched for a restore: only --api-socket (the VM comes from
// vm.restore), in the NICs' network namespace, output appended to the VM's
// log, pid file written atomically.
struct RestoreCh {
  process::Child child;
  off_t log_start = 0;
  void Kill() {
    (void)child.Signal(SIGKILL);
    (void)child.Wait();
  }
};

absl::StatusOr<RestoreCh> LaunchForRestore(const Env& env, const VmPaths& p,
                                           const std::string& netns) {
  for (const std::string& f : {p.api_socket, p.pid_file, p.console_socket}) {
    RETURN_IF_ERROR(fs::RemoveFile(f));
  }
  std::vector<std::string> argv = {env.config.ch_binary(), "--api-socket",
                                   p.api_socket};
  RETURN_IF_ERROR(fs::WriteFileAtomically(
      p.cmdline, launch::ShellJoin(argv) + "\n", 0600, /*sync=*/false));
  UniqueFd log_fd(RetryEintr([&] {
    return ::open(p.log_file.c_str(),
                  O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  }));
  if (!log_fd.valid()) return ErrnoError(errno, "open", p.log_file);
  off_t log_start = ::lseek(log_fd.get(), 0, SEEK_END);
  process::SpawnOptions opts;
  opts.argv = argv;
  opts.stdout_fd = log_fd.get();
  opts.stderr_fd = log_fd.get();
  opts.new_session = true;
  opts.netns_path = netns;
  ASSIGN_OR_RETURN(process::Child child, process::Spawn(opts));
  RestoreCh out{std::move(child), log_start < 0 ? 0 : log_start};
  absl::Status s = fs::WriteFileAtomically(
      p.pid_file, absl::StrCat(out.child.pid(), "\n"), 0600, /*sync=*/false);
  const absl::Duration wait = absl::Seconds(
      env.config.socket_wait_seconds() > 0 ? env.config.socket_wait_seconds()
                                           : 5);
  if (s.ok()) {
    s = chapi::WaitForApiSocket(p.api_socket, out.child.pidfd(), wait);
  }
  if (!s.ok()) {
    out.Kill();
    return s;
  }
  return out;
}

// CH's error chain appended to `s` (what the log says about this launch).
absl::Status WithChLog(const absl::Status& s, const VmPaths& p, off_t since) {
  std::string why = ChLogSince(p, since);
  if (why.empty() || absl::StrContains(s.message(), why)) return s;
  return absl::Status(
      s.code(), absl::StrCat(s.message(), "; cloud-hypervisor said: ", why));
}

// The NIC JSON of vm.add-net (docs/cocoon-lessons.md §4.3).
nlohmann::json NicJson(const NetworkConfig& n) {
  nlohmann::json j = {{"tap", n.tap()},
                      {"mac", n.mac()},
                      {"num_queues", n.num_queues()},
                      {"queue_size", n.queue_size()},
                      {"offload_tso", true},
                      {"offload_ufo", true},
                      {"offload_csum", true}};
  return j;
}

// What follows vm.restore: the NICs swapped (parked ones removed, the VM's
// added), cidata hot-added when asked, resumed, more vCPUs when asked, and
// Running confirmed.
struct AfterRestore {
  std::vector<std::string> remove_ids;
  std::vector<NetworkConfig> add_nics;
  std::optional<std::string> add_cidata;  // path
  int resize_cpu = 0;
  int queues_cpu = 1;
};

absl::Status RestoreSwapResume(const Env& env, const VmPaths& p, RestoreCh& ch,
                               const std::string& source_dir,
                               const AfterRestore& a, CloneTimes* times) {
  std::unique_ptr<chapi::Client> api = env.api(p.api_socket, absl::Seconds(30));
  const absl::Time t0 = absl::Now();
  RETURN_IF_ERROR(api->Restore(absl::StrCat("file://", source_dir)));
  if (times != nullptr) times->restore_call = absl::Now() - t0;
  RETURN_IF_ERROR(InterruptStatus("clone"));
  // More vCPUs first, while paused: CH refuses a NIC with more queue pairs
  // (and a disk with more queues) than its boot vCPUs (docs/ch-v51.md §1.4),
  // and vm.resize raises them; the guest brings the new vCPUs online.
  if (a.resize_cpu > 0) {
    absl::Status s = api->Resize(a.resize_cpu, std::nullopt);
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat("vm.resize to ", a.resize_cpu,
                                                 " vCPUs: ", s.message()));
    }
  }
  for (const std::string& id : a.remove_ids) {
    absl::Status s = api->RemoveDevice(id);
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat("removing the snapshot's NIC ",
                                                 id, ": ", s.message()));
    }
  }
  for (const NetworkConfig& n : a.add_nics) {
    absl::StatusOr<nlohmann::json> r = api->AddNet(NicJson(n));
    if (!r.ok()) {
      return absl::Status(
          r.status().code(),
          absl::StrCat("adding NIC tap ", n.tap(), ": ", r.status().message()));
    }
  }
  if (a.add_cidata) {
    nlohmann::json disk = {{"path", *a.add_cidata},
                           {"readonly", true},
                           {"image_type", "Raw"},
                           {"num_queues", a.queues_cpu},
                           {"queue_size", 512}};
    absl::StatusOr<nlohmann::json> r = api->AddDisk(disk);
    if (!r.ok()) {
      return absl::Status(
          r.status().code(),
          absl::StrCat("adding cidata.img: ", r.status().message()));
    }
  }
  RETURN_IF_ERROR(InterruptStatus("clone"));
  RETURN_IF_ERROR(api->Resume());
  return WaitRunning(*api, ch.child.pidfd(), env.now() + absl::Seconds(10),
                     env.now);
}

std::string DefaultName(const Snapshot& s, const std::string& id) {
  std::string base = s.source_vm_name().substr(0, 56);
  if (base.empty() || !record::IsValidName(base)) base = "clone";
  return absl::StrCat(base, "-", id.substr(0, 6));
}

}  // namespace

absl::StatusOr<Vm> CloneVm(const Env& env, const SnapshotSource& src,
                           const CloneOptions& o, CloneTimes* times) {
  const absl::Time start = absl::Now();
  const std::string id = record::NewId();
  const VmPaths p = PathsFor(env.config, id);
  if (src.store == nullptr) return absl::InvalidArgumentError("no store");

  // Checks that need no snapshot, before anything happens.
  if (!o.name.empty()) {
    RETURN_IF_ERROR(record::ValidateName(o.name, "--name"));
    if (record::IsValidId(o.name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--name: \"", o.name, "\" looks like a VM id"));
    }
  }
  for (const std::string* sock : {&p.api_socket, &p.console_socket}) {
    if (sock->size() > fs::kMaxSocketPath) {
      return absl::InvalidArgumentError(absl::StrCat(
          "socket path ", *sock, " is ", sock->size(), " bytes; at most ",
          fs::kMaxSocketPath, " fit in a unix socket address"));
    }
  }

  // The new id is ours before anything is made under it: an operation lock
  // held from here to the end, so no check (ch-gc, fsck) takes the
  // extraction or the half-made VM for leftovers.
  ASSIGN_OR_RETURN(fs::FileLock lock, LockVm(env.config, id, absl::Seconds(5)));
  bool made_run = false, made_log = false, reserved = false;
  std::optional<RestoreCh> ch;
  absl::Cleanup rollback = [&] {
    if (ch) ch->Kill();
    if (made_run) (void)fs::RemoveTree(p.run_dir);
    if (made_log) (void)fs::RemoveTree(p.log_dir);
    if (reserved) (void)env.index->Delete(id);
    (void)lock.RemoveFile();
  };

  // The snapshot: from the store, or an archive extracted into the clone's
  // own (new, private) run dir and checked before anything else.
  SnapshotFiles f;
  if (src.archive_fd >= 0) {
    RETURN_IF_ERROR(fs::MakeDirs(VmRunParent(env.config), 0700));
    RETURN_IF_ERROR(fs::MakeNewDir(p.run_dir, 0700));
    made_run = true;
    ASSIGN_OR_RETURN(
        f, FromArchive(env, src.archive_fd, src.archive_name, p.run_dir));
  } else {
    ASSIGN_OR_RETURN(f, FromStore(env, *src.store, src.id));
  }
  RETURN_IF_ERROR(InterruptStatus("clone"));
  const Snapshot& snap = f.record;
  RETURN_IF_ERROR(CheckPayload(f));

  // Resources come from the snapshot; more vCPUs only within the headroom
  // CH was started with (max_vcpus).
  int cpu = o.cpu > 0 ? o.cpu : f.config.boot_vcpus;
  if (cpu < f.config.boot_vcpus) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cpu ", cpu, ": below the snapshot's ",
                     f.config.boot_vcpus, " vCPUs (CH restores them all)"));
  }
  if (cpu > f.config.max_vcpus) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cpu ", cpu, ": the snapshot's VM can grow to at most ",
                     f.config.max_vcpus, " vCPUs (its max_vcpus)"));
  }
  if (cpu > env.host.cpus) {
    return absl::FailedPreconditionError(
        absl::StrCat("--cpu ", cpu, ": the host has ", env.host.cpus, " CPUs"));
  }
  if (static_cast<int>(o.nics.size()) <
      static_cast<int>(f.config.nics.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the snapshot's VM has ", f.config.nics.size(),
        " NIC(s): give at least as many --nic (tap=...,netns=...)"));
  }

  ASSIGN_OR_RETURN(DiskPlan disks, PlanDisks(f, p));
  const bool direct = snap.direct_boot();
  const bool cidata = !direct && !snap.windows();

  Vm vm;
  vm.set_id(id);
  VmConfig* c = vm.mutable_config();
  c->set_name(o.name.empty() ? DefaultName(snap, id) : o.name);
  c->set_cpu(cpu);
  c->set_memory_bytes(snap.memory_bytes());
  c->set_storage_bytes(snap.storage_bytes());
  c->set_image(snap.image());
  c->set_windows(snap.windows());
  for (const StorageConfig& sc : disks.storage) *vm.add_storage() = sc;
  if (cidata && !disks.had_cidata) {
    StorageConfig* d = vm.add_storage();
    d->set_path(p.cidata);
    d->set_ro(true);
  }
  for (NetworkConfig n : o.nics) {
    if (n.mac().empty()) n.set_mac(record::NewMac());
    // CH refuses more queue pairs than vCPUs: --cpu grows them (vm.resize)
    // before the NICs are added.
    n.set_num_queues(launch::NetQueues(cpu));
    if (n.queue_size() <= 0) n.set_queue_size(launch::kDefaultNetQueueSize);
    *vm.add_network() = n;
  }
  *vm.mutable_boot() = snap.boot();
  *vm.mutable_image_blob_ids() = snap.image_blob_ids();
  vm.set_run_dir(p.run_dir);
  vm.set_log_dir(p.log_dir);
  vm.set_first_booted(true);
  if (direct) {
    // For later cold boots: the clone's own name and NICs.
    ASSIGN_OR_RETURN(std::string cmdline,
                     launch::BuildKernelCmdline(vm, {env.config.dns().begin(),
                                                     env.config.dns().end()}));
    vm.mutable_boot()->set_cmdline(cmdline);
  }
  {
    Vm check = vm;
    check.set_state(Vm::CREATED);
    RETURN_IF_ERROR(record::ValidateVm(check, "clone"));
  }
  RETURN_IF_ERROR(CheckRecordPaths(env.config, vm));
  for (const std::string& ro : disks.ro_files) {
    RETURN_IF_ERROR(fs::CheckInputFile("read-only image", ro));
  }
  RETURN_IF_ERROR(CheckNics(vm));
  ASSIGN_OR_RETURN(std::string netns, VmNetns(vm));

  // The snapshot's NICs are restored onto parking taps CH makes (clone.h),
  // named for the clone's fresh random id: not probed first (an `ip` run
  // costs more than the rest of a clone's checks), as a name nobody else
  // makes cannot be taken unless planted by someone who owns the netns.
  std::vector<std::string> parking;
  for (size_t i = 0; i < f.config.nics.size(); ++i) {
    parking.push_back(absl::StrFormat("chp%s%x", id.substr(0, 8), i));
  }
  ASSIGN_OR_RETURN(RewrittenJson files, Rewrite(env, f, disks, p, parking));

  // Side effects from here on, each undone by `rollback`.
  Vm placeholder;
  placeholder.set_id(id);
  placeholder.set_state(Vm::CREATING);
  *placeholder.mutable_config() = vm.config();
  *placeholder.mutable_image_blob_ids() = vm.image_blob_ids();
  placeholder.set_run_dir(p.run_dir);
  placeholder.set_log_dir(p.log_dir);
  RETURN_IF_ERROR(env.index->Reserve(placeholder));
  reserved = true;
  if (!made_run) {
    RETURN_IF_ERROR(fs::MakeDirs(VmRunParent(env.config), 0700));
    RETURN_IF_ERROR(fs::MakeNewDir(p.run_dir, 0700));
    made_run = true;
  }
  RETURN_IF_ERROR(fs::MakeDirs(VmLogParent(env.config), 0700));
  RETURN_IF_ERROR(fs::MakeNewDir(p.log_dir, 0700));
  made_log = true;
  ASSIGN_OR_RETURN(UniqueFd run_fd, OpenDir(p.run_dir));
  if (src.archive_fd < 0) {
    // From the store: RAM linked (never written through), the disk shared
    // or copied, the small files written anew below.
    RETURN_IF_ERROR(Place(f.dirfd.get(), std::string(kMemoryRanges),
                          run_fd.get(), std::string(kMemoryRanges), true));
    RETURN_IF_ERROR(InterruptStatus("clone"));
    RETURN_IF_ERROR(Place(f.dirfd.get(), disks.writable_file, run_fd.get(),
                          disks.writable_file, false));
    if (disks.had_cidata && HasFile(snap, kCidataImg) && !cidata) {
      RETURN_IF_ERROR(Place(f.dirfd.get(), std::string(kCidataImg),
                            run_fd.get(), std::string(kCidataImg), false));
    }
  }
  RETURN_IF_ERROR(InterruptStatus("clone"));
  if (!direct) RETURN_IF_ERROR(CheckOverlayBacking(env, p.overlay));
  if (cidata) {
    // Regenerated with the clone's id, name and NICs (the snapshot's copy,
    // if extracted, is replaced).
    RETURN_IF_ERROR(fs::RemoveFile(p.cidata));
    RETURN_IF_ERROR(MakeCidata(
        env, vm, env.config.root_password(),
        {env.config.dns().begin(), env.config.dns().end()}, p.cidata));
  }
  RETURN_IF_ERROR(
      WriteIn(p.run_dir, std::string(kConfigJson), files.config_json));
  RETURN_IF_ERROR(
      WriteIn(p.run_dir, std::string(kStateJson), files.state_json));
  RETURN_IF_ERROR(InterruptStatus("clone"));

  ASSIGN_OR_RETURN(RestoreCh launched, LaunchForRestore(env, p, netns));
  ch.emplace(std::move(launched));
  AfterRestore after;
  for (const ChNic& n : f.config.nics) after.remove_ids.push_back(n.id);
  after.add_nics.assign(vm.network().begin(), vm.network().end());
  if (cidata && !disks.had_cidata) after.add_cidata = p.cidata;
  after.resize_cpu = cpu > f.config.boot_vcpus ? cpu : 0;
  after.queues_cpu = cpu;
  absl::Status s = RestoreSwapResume(env, p, *ch, p.run_dir, after, times);
  if (!s.ok()) return WithChLog(s, p, ch->log_start);
  // CH has read them: RAM (GBs for a stream clone) and the JSON go.
  for (absl::string_view n : {kMemoryRanges, kConfigJson, kStateJson}) {
    (void)fs::RemoveFile(absl::StrCat(p.run_dir, "/", n));
  }
  const std::string now = Now(env);
  ASSIGN_OR_RETURN(Vm done, env.index->Update(id, [&](Vm& r) {
    r = vm;
    r.set_state(Vm::RUNNING);
    r.set_created_at(now);
    r.set_started_at(now);
    return absl::OkStatus();
  }));
  std::move(rollback).Cancel();
  const pid_t pid = ch->child.Detach();
  done.set_run_dir(p.run_dir);
  done.set_log_dir(p.log_dir);
  done.set_pid(pid);
  done.set_api_socket(p.api_socket);
  if (times != nullptr) times->total = absl::Now() - start;
  return done;
}

absl::StatusOr<Vm> RestoreVm(const Env& env, absl::string_view vm_id,
                             const SnapshotSource& src) {
  if (src.store == nullptr) return absl::InvalidArgumentError("no store");
  ASSIGN_OR_RETURN(fs::FileLock lock, LockVm(env.config, vm_id, LockWait(env)));
  ASSIGN_OR_RETURN(Vm vm, LoadVm(env, vm_id));
  if (vm.state() == Vm::CREATING || vm.state() == Vm::DELETING) {
    return absl::FailedPreconditionError(absl::StrCat(
        "is in state ", Vm::State_Name(vm.state()), ": cannot restore"));
  }
  const VmPaths p = PathsFor(env.config, vm.id());
  const std::string& staging = p.restore_staging;
  // What an earlier restore left when it died.
  RETURN_IF_ERROR(RecoverRestoreHeld(env, vm));
  ASSIGN_OR_RETURN(vm, LoadVm(env, vm_id));
  RETURN_IF_ERROR(fs::MakeNewDir(staging, 0700));
  bool keep_staging = false;
  absl::Cleanup drop_staging = [&] {
    if (!keep_staging) (void)fs::RemoveTree(staging);
  };

  SnapshotFiles f;
  if (src.archive_fd >= 0) {
    ASSIGN_OR_RETURN(
        f, FromArchive(env, src.archive_fd, src.archive_name, staging));
  } else {
    ASSIGN_OR_RETURN(f, FromStore(env, *src.store, src.id));
  }
  const Snapshot& snap = f.record;
  bool belongs = snap.source_vm_id() == vm.id();
  for (const std::string& sid : vm.snapshot_ids()) belongs |= sid == snap.id();
  if (!belongs) {
    return absl::FailedPreconditionError(absl::StrCat(
        "snapshot ", snap.id(), " was not taken of this VM (", vm.id(), ")"));
  }
  RETURN_IF_ERROR(CheckPayload(f));
  if (launch::IsDirectBoot(vm) != snap.direct_boot()) {
    return absl::FailedPreconditionError(
        "the snapshot's boot type differs from the VM's");
  }
  if (static_cast<size_t>(vm.network_size()) != f.config.nics.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("NIC count mismatch: the VM has ", vm.network_size(),
                     ", the snapshot ", f.config.nics.size()));
  }
  ASSIGN_OR_RETURN(DiskPlan disks, PlanDisks(f, p));
  // Its disks must be the VM's: the same writable file, read-only layers the
  // VM has (a cidata.img that the VM's record still lists is its own).
  std::set<std::string> vm_ro;
  for (const StorageConfig& s : vm.storage()) {
    if (s.ro()) vm_ro.insert(s.path());
  }
  for (const std::string& ro : disks.ro_files) {
    if (ro == snap.boot().kernel_path() || ro == snap.boot().initrd_path() ||
        ro == snap.boot().firmware_path()) {
      continue;
    }
    if (!vm_ro.contains(ro)) {
      return absl::FailedPreconditionError(
          absl::StrCat("disk list mismatch: the snapshot's read-only disk ", ro,
                       " is not one of the VM's"));
    }
  }
  if (disks.had_cidata && !vm_ro.contains(p.cidata)) {
    return absl::FailedPreconditionError(
        "disk list mismatch: the snapshot has cidata.img, the VM has none");
  }
  for (const std::string& ro : disks.ro_files) {
    RETURN_IF_ERROR(fs::CheckInputFile("read-only image", ro));
  }
  if (disks.had_cidata) RETURN_IF_ERROR(fs::CheckInputFile("cidata", p.cidata));
  ASSIGN_OR_RETURN(std::string netns, VmNetns(vm));

  std::vector<std::string> taps;
  for (const NetworkConfig& n : vm.network()) taps.push_back(n.tap());
  ASSIGN_OR_RETURN(RewrittenJson files, Rewrite(env, f, disks, p, taps));

  // Staged: RAM, the disk, the two JSON files, all in the staging dir.
  ASSIGN_OR_RETURN(UniqueFd stage_fd, OpenDir(staging));
  const std::string staged_disk =
      absl::StrCat("restored-", disks.writable_file);
  if (src.archive_fd < 0) {
    RETURN_IF_ERROR(Place(f.dirfd.get(), std::string(kMemoryRanges),
                          stage_fd.get(), std::string(kMemoryRanges), true));
    RETURN_IF_ERROR(Place(f.dirfd.get(), disks.writable_file, stage_fd.get(),
                          staged_disk, false));
  } else if (::renameat(stage_fd.get(), disks.writable_file.c_str(),
                        stage_fd.get(), staged_disk.c_str()) != 0) {
    return ErrnoError(errno, "rename", disks.writable_file);
  }
  if (src.archive_fd >= 0) {
    (void)::unlinkat(stage_fd.get(), std::string(kCidataImg).c_str(), 0);
  }
  if (!snap.direct_boot()) {
    RETURN_IF_ERROR(
        CheckOverlayBacking(env, absl::StrCat(staging, "/", staged_disk)));
  }
  RETURN_IF_ERROR(
      WriteIn(staging, std::string(kConfigJson), files.config_json));
  RETURN_IF_ERROR(WriteIn(staging, std::string(kStateJson), files.state_json));
  RETURN_IF_ERROR(InterruptStatus("restore"));

  // Everything checked: stop the VM, set its disk aside, put the snapshot's
  // in place.
  ASSIGN_OR_RETURN(
      vm, StopVmHeld(env, vm,
                     absl::Seconds(env.config.stop_timeout_seconds() > 0
                                       ? env.config.stop_timeout_seconds()
                                       : 30)));
  const std::string live_disk = snap.direct_boot() ? p.cow_raw : p.overlay;
  const std::string previous =
      absl::StrCat(staging, "/previous-", disks.writable_file);
  keep_staging = true;  // it holds the VM's disk from here until the end
  if (::rename(live_disk.c_str(), previous.c_str()) != 0) {
    keep_staging = false;
    return ErrnoError(errno, "rename", live_disk);
  }
  std::optional<RestoreCh> ch;
  auto put_back = [&](const absl::Status& why) -> absl::Status {
    if (ch) ch->Kill();
    (void)::unlink(live_disk.c_str());
    absl::Status back = ::rename(previous.c_str(), live_disk.c_str()) == 0
                            ? absl::OkStatus()
                            : ErrnoError(errno, "rename", previous);
    for (const std::string& f2 : {p.api_socket, p.pid_file, p.console_socket}) {
      (void)fs::RemoveFile(f2);
    }
    if (!back.ok()) {
      return absl::Status(
          why.code(),
          absl::StrCat("restore failed: ", why.message(),
                       "; and putting the previous disk back failed (",
                       back.message(), "): it is ", previous));
    }
    keep_staging = false;
    (void)env.index->Update(vm.id(), [&](Vm& r) {
      r.set_state(Vm::STOPPED);
      r.clear_error();
      return absl::OkStatus();
    });
    return absl::Status(
        why.code(), absl::StrCat("restore failed: ", why.message(),
                                 "; the VM is stopped, on its previous disk"));
  };
  if (::rename(absl::StrCat(staging, "/", staged_disk).c_str(),
               live_disk.c_str()) != 0) {
    return put_back(ErrnoError(errno, "rename", staged_disk));
  }
  absl::StatusOr<RestoreCh> launched = LaunchForRestore(env, p, netns);
  if (!launched.ok()) return put_back(launched.status());
  ch.emplace(*std::move(launched));
  AfterRestore after;  // same NICs, same MACs, same taps: nothing to swap
  absl::Status s = RestoreSwapResume(env, p, *ch, staging, after, nullptr);
  if (!s.ok()) return put_back(WithChLog(s, p, ch->log_start));
  // The commit point: from here on a crash leaves the restored VM (its
  // record made RUNNING by the next start, which finds its CH).
  if (::rename(staging.c_str(), p.restore_done.c_str()) != 0) {
    return put_back(ErrnoError(errno, "rename", staging));
  }
  const std::string now = Now(env);
  absl::StatusOr<Vm> done = env.index->Update(vm.id(), [&](Vm& r) {
    r.set_state(Vm::RUNNING);
    r.set_started_at(now);
    r.clear_error();
    return absl::OkStatus();
  });
  if (!done.ok()) {
    // Committed: CH runs the restored VM; the next start records it.
    ch->child.Detach();
    keep_staging = true;
    (void)fs::RemoveTree(p.restore_done);
    return done.status();
  }
  const pid_t pid = ch->child.Detach();
  keep_staging = true;  // renamed: nothing left under the staging name
  (void)fs::RemoveTree(p.restore_done);  // the previous disk, RAM and JSON
  done->set_run_dir(p.run_dir);
  done->set_log_dir(p.log_dir);
  done->set_pid(pid);
  done->set_api_socket(p.api_socket);
  return *done;
}

}  // namespace chtools::vm
