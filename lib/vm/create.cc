#include "lib/vm/create.h"

#include <set>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lib/base/interrupt.h"
#include "lib/base/status_macros.h"
#include "lib/fs/files.h"
#include "lib/fs/unix_socket.h"
#include "lib/launch/cidata.h"
#include "lib/launch/kernel_cmdline.h"
#include "lib/record/ids.h"
#include "lib/record/validate.h"
#include "lib/vm/disks.h"
#include "lib/vm/op_lock.h"
#include "lib/vm/paths.h"
#include "lib/vm/tap.h"
#include "lib/vm/trust.h"

namespace chtools::vm {
namespace {

std::string Basename(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}
std::string Stem(const std::string& p) {
  std::string b = Basename(p);
  size_t dot = b.rfind('.');
  return dot == std::string::npos || dot == 0 ? b : b.substr(0, dot);
}
std::string ParentName(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? "" : Basename(p.substr(0, s));
}

// Everything that can be checked without touching the system.
absl::Status CheckInput(const Env& env, const Vm& vm) {
  RETURN_IF_ERROR(record::ValidateVmConfig(vm.config(), "config"));
  if (vm.config().cpu() > env.host.cpus) {
    return absl::FailedPreconditionError(absl::StrCat(
        "config.cpu: ", vm.config().cpu(), " vCPUs requested but the host has ",
        env.host.cpus, " CPUs"));
  }
  if (!vm.id().empty() && !record::IsValidId(vm.id())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "id: \"", vm.id(), "\" is not 16 lowercase hex characters"));
  }
  bool direct = !vm.boot().kernel_path().empty();
  if (direct) {
    if (vm.config().windows()) {
      return absl::InvalidArgumentError(
          "config.windows: needs a cloud image (UEFI boot), not direct kernel "
          "boot");
    }
    if (vm.boot().initrd_path().empty())
      return absl::InvalidArgumentError("boot.initrd_path: empty");
    for (int i = 0; i < vm.storage_size(); ++i) {
      if (!vm.storage(i).ro()) {
        return absl::InvalidArgumentError(
            absl::StrCat("storage[", i,
                         "]: direct boot takes read-only layers only (the COW "
                         "is made here)"));
      }
    }
  } else {
    if (vm.boot().firmware_path().empty()) {
      return absl::InvalidArgumentError(
          "boot: set kernel_path + initrd_path (direct boot) or firmware_path "
          "(cloud image)");
    }
    if (vm.storage_size() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("storage: a cloud image VM takes exactly one disk, the "
                       "base qcow2 (got ",
                       vm.storage_size(), ")"));
    }
  }
  std::set<std::string> netns;
  for (int i = 0; i < vm.network_size(); ++i) {
    if (vm.network(i).tap().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("network[", i, "].tap: empty"));
    }
    netns.insert(vm.network(i).netns_path());
  }
  if (netns.size() > 1) {
    return absl::InvalidArgumentError(
        "network: all NICs must be in the same network namespace (CH runs in "
        "one)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Vm> CreateVm(const Env& env, Vm in) {
  RETURN_IF_ERROR(CheckInput(env, in));
  // A NIC given without a MAC gets a random locally administered one (CH
  // would pick one too, but the record must know it for cidata and clones).
  for (NetworkConfig& nic : *in.mutable_network()) {
    if (nic.mac().empty()) nic.set_mac(record::NewMac());
  }
  const bool direct = !in.boot().kernel_path().empty();
  const bool windows = in.config().windows();

  Vm vm;
  vm.set_id(in.id().empty() ? record::NewId() : in.id());
  *vm.mutable_config() = in.config();
  const VmPaths paths = PathsFor(env.config, vm.id());
  vm.set_run_dir(paths.run_dir);
  vm.set_log_dir(paths.log_dir);
  *vm.mutable_boot() = in.boot();
  for (NetworkConfig nic : in.network()) {
    // Queues follow the vCPUs CH gets (never more than the host has, above).
    nic.set_num_queues(launch::NetQueues(vm.config().cpu()));
    if (nic.queue_size() <= 0) nic.set_queue_size(launch::kDefaultNetQueueSize);
    *vm.add_network() = nic;
  }
  // Blob pins, computed from the inputs before the storage is transformed.
  std::set<std::string> pins;
  if (direct) {
    for (const StorageConfig& s : in.storage()) pins.insert(Stem(s.path()));
    pins.insert(ParentName(in.boot().kernel_path()));
    pins.insert(ParentName(in.boot().initrd_path()));
  } else {
    pins.insert(Stem(in.storage(0).path()));
  }
  // Only names of image-store blobs (lowercase hex) are pins; files given
  // by path from elsewhere have no blob for a GC to keep.
  for (const std::string& p : pins) {
    if (!p.empty() &&
        p.find_first_not_of("0123456789abcdef") == std::string::npos) {
      vm.add_image_blob_ids(p);
    }
  }

  // The final storage and cmdline, built (and so validated) before any side
  // effect.
  const std::string cow = direct ? paths.cow_raw : paths.overlay;
  const std::string& cidata = paths.cidata;
  if (direct) {
    *vm.mutable_storage() = in.storage();
    StorageConfig* c = vm.add_storage();
    c->set_path(cow);
    c->set_serial("cocoon-cow");
    ASSIGN_OR_RETURN(std::string cmdline,
                     launch::BuildKernelCmdline(vm, {env.config.dns().begin(),
                                                     env.config.dns().end()}));
    vm.mutable_boot()->set_cmdline(cmdline);
  } else {
    StorageConfig* c = vm.add_storage();
    c->set_path(cow);
    if (!windows) {
      StorageConfig* d = vm.add_storage();
      d->set_path(cidata);
      d->set_ro(true);
      RETURN_IF_ERROR(launch::BuildCidataFiles(
                          vm, env.config.root_password(),
                          {env.config.dns().begin(), env.config.dns().end()})
                          .status());
    }
  }
  // The input and the record made from it must be ones the index accepts
  // (absolute paths CH's option syntax can carry, MACs, ...): a relative
  // path would resolve against whatever directory `start` runs in.
  for (const Vm* r : {&in, &vm}) {
    Vm check = *r;
    check.set_id(vm.id());
    check.set_state(Vm::CREATED);
    RETURN_IF_ERROR(record::ValidateVm(check, ""));
  }

  // CH binds these; a path sun_path cannot hold would only fail at start.
  for (const std::string* sock : {&paths.api_socket, &paths.console_socket}) {
    if (sock->size() > fs::kMaxSocketPath) {
      return absl::InvalidArgumentError(
          absl::StrCat("socket path ", *sock, " is ", sock->size(),
                       " bytes; at most ", fs::kMaxSocketPath,
                       " fit in a unix socket address: use a shorter run dir"));
    }
  }
  // The images it names lie outside every VM's dirs.
  RETURN_IF_ERROR(CheckRecordPaths(env.config, vm));
  // The host side of the NICs, before anything is made (a single-queue tap
  // would only fail at start).
  RETURN_IF_ERROR(CheckNics(vm));

  Vm placeholder;
  placeholder.set_id(vm.id());
  placeholder.set_state(Vm::CREATING);
  *placeholder.mutable_config() = vm.config();
  *placeholder.mutable_image_blob_ids() = vm.image_blob_ids();
  placeholder.set_run_dir(vm.run_dir());
  placeholder.set_log_dir(vm.log_dir());
  // The new id is locked before it is reserved, so no other operation (nor a
  // check) sees it half made.
  ASSIGN_OR_RETURN(fs::FileLock lock,
                   LockVm(env.config, vm.id(), absl::Seconds(5)));
  RETURN_IF_ERROR(env.index->Reserve(placeholder));
  // Armed only once the reservation is ours (cocoon's rollback could remove
  // another VM's files on an id collision, docs/cocoon-lessons.md). The dirs
  // are removed only if this create made them.
  bool made_run = false, made_log = false;
  absl::Cleanup rollback = [&] {
    if (made_run) (void)fs::RemoveTree(paths.run_dir);
    if (made_log) (void)fs::RemoveTree(paths.log_dir);
    (void)env.index->Delete(vm.id());
    (void)lock.RemoveFile();
  };
  auto check_interrupt = [] { return InterruptStatus("create"); };

  RETURN_IF_ERROR(fs::MakeDirs(VmRunParent(env.config), 0700));
  RETURN_IF_ERROR(fs::MakeDirs(VmLogParent(env.config), 0700));
  RETURN_IF_ERROR(fs::MakeNewDir(paths.run_dir, 0700));
  made_run = true;
  RETURN_IF_ERROR(fs::MakeNewDir(paths.log_dir, 0700));
  made_log = true;
  if (direct) {
    RETURN_IF_ERROR(fs::CheckInputFile("kernel", in.boot().kernel_path()));
    RETURN_IF_ERROR(fs::CheckInputFile("initrd", in.boot().initrd_path()));
    for (const StorageConfig& s : in.storage()) {
      RETURN_IF_ERROR(fs::CheckInputFile("layer", s.path()));
    }
    RETURN_IF_ERROR(check_interrupt());
    RETURN_IF_ERROR(MakeCowRaw(env, cow, vm.config().storage_bytes()));
  } else {
    RETURN_IF_ERROR(fs::CheckInputFile("firmware", in.boot().firmware_path()));
    RETURN_IF_ERROR(fs::CheckInputFile("base image", in.storage(0).path()));
    RETURN_IF_ERROR(check_interrupt());
    RETURN_IF_ERROR(MakeOverlay(env, in.storage(0).path(), cow,
                                vm.config().storage_bytes()));
    if (!windows) {
      RETURN_IF_ERROR(check_interrupt());
      RETURN_IF_ERROR(MakeCidata(
          env, vm, env.config.root_password(),
          {env.config.dns().begin(), env.config.dns().end()}, cidata));
    }
  }
  // A signal that arrived during the last step (whose child it may have
  // killed, or not) still aborts the create.
  RETURN_IF_ERROR(check_interrupt());

  ASSIGN_OR_RETURN(Vm done, env.index->Update(vm.id(), [&](Vm& r) {
    std::string created = r.created_at();
    r = vm;
    r.set_state(Vm::CREATED);
    r.set_created_at(created);
    return absl::OkStatus();
  }));
  std::move(rollback).Cancel();
  return done;
}

}  // namespace chtools::vm
