#include "lib/launch/ch_command.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace chtools::launch {

bool IsDirectBoot(const Vm& vm) { return !vm.boot().kernel_path().empty(); }

bool IsCidataDisk(const StorageConfig& disk) {
  absl::string_view p = disk.path();
  size_t slash = p.rfind('/');
  if (slash != absl::string_view::npos) p.remove_prefix(slash + 1);
  return p == "cidata.img";
}

int NetQueues(int vcpus) { return vcpus <= 1 ? 2 : 2 * vcpus; }

std::vector<StorageConfig> BootDisks(const Vm& vm) {
  std::vector<StorageConfig> disks;
  bool skip_cidata = vm.first_booted() && !IsDirectBoot(vm);
  for (const StorageConfig& d : vm.storage()) {
    if (skip_cidata && IsCidataDisk(d)) continue;
    disks.push_back(d);
  }
  return disks;
}

std::string DiskArg(const StorageConfig& disk, int vcpus) {
  std::string out = absl::StrCat("path=", disk.path());
  bool qcow2 = absl::EndsWith(disk.path(), ".qcow2");
  if (disk.ro()) {
    out += ",readonly=on";
  } else {
    out += ",direct=on";
  }
  if (qcow2) {
    out += ",image_type=qcow2";
    if (!disk.ro()) out += ",backing_files=on";
  } else if (disk.ro()) {
    out += ",image_type=raw";
  } else {
    out += ",sparse=on,image_type=raw";
  }
  absl::StrAppend(&out, ",num_queues=", vcpus, ",queue_size=", kDiskQueueSize);
  if (!disk.ro() && vcpus > 1) {
    out += ",queue_affinity=[";
    for (int i = 0; i < vcpus; ++i) {
      absl::StrAppend(&out, i == 0 ? "" : ",", i, "@[", i, "]");
    }
    out += "]";
  }
  if (!disk.serial().empty()) absl::StrAppend(&out, ",serial=", disk.serial());
  return out;
}

std::string NetArg(const NetworkConfig& nic, int vcpus) {
  std::string out = absl::StrCat("tap=", nic.tap());
  if (!nic.mac().empty()) absl::StrAppend(&out, ",mac=", nic.mac());
  absl::StrAppend(&out, ",num_queues=", NetQueues(vcpus));
  if (nic.queue_size() > 0) {
    absl::StrAppend(&out, ",queue_size=", nic.queue_size());
  }
  out += ",offload_tso=on,offload_ufo=on,offload_csum=on";
  return out;
}

absl::StatusOr<std::vector<std::string>> BuildChArgs(const Vm& vm,
                                                     const vm::VmPaths& paths,
                                                     const HostFacts& host) {
  const VmConfig& c = vm.config();
  if (c.cpu() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.cpu: must be at least 1, got ", c.cpu()));
  }
  if (c.cpu() > host.cpus) {
    return absl::FailedPreconditionError(
        absl::StrCat("config.cpu: ", c.cpu(),
                     " vCPUs requested but the host has ", host.cpus, " CPUs"));
  }
  if (c.memory_bytes() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config.memory_bytes: must be positive, got ", c.memory_bytes()));
  }
  bool direct = IsDirectBoot(vm);
  if (!direct && vm.boot().firmware_path().empty()) {
    return absl::InvalidArgumentError(
        "boot: neither kernel_path nor firmware_path is set");
  }
  for (int i = 0; i < vm.network_size(); ++i) {
    if (vm.network(i).tap().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("network[", i, "].tap: empty"));
    }
  }
  const int vcpus = c.cpu();
  std::vector<std::string> args = {"--api-socket", paths.api_socket};
  std::string cpus = absl::StrCat("boot=", vcpus, ",max=", host.cpus);
  if (c.windows()) cpus += ",kvm_hyperv=on";
  args.insert(args.end(), {"--cpus", cpus});
  std::string memory = absl::StrCat("size=", c.memory_bytes());
  if (host.hugepages) memory += ",hugepages=on";
  args.insert(args.end(), {"--memory", memory});
  std::vector<StorageConfig> disks = BootDisks(vm);
  if (!disks.empty()) {
    args.push_back("--disk");
    for (const StorageConfig& d : disks) args.push_back(DiskArg(d, vcpus));
  }
  const BootConfig& b = vm.boot();
  if (!b.kernel_path().empty())
    args.insert(args.end(), {"--kernel", b.kernel_path()});
  if (!direct && !b.firmware_path().empty()) {
    args.insert(args.end(), {"--firmware", b.firmware_path()});
  }
  if (!b.initrd_path().empty()) {
    args.insert(args.end(), {"--initramfs", b.initrd_path()});
  }
  if (direct && !b.cmdline().empty()) {
    args.insert(args.end(), {"--cmdline", b.cmdline()});
  }
  if (vm.network_size() > 0) {
    args.push_back("--net");
    for (const NetworkConfig& n : vm.network())
      args.push_back(NetArg(n, vcpus));
  }
  args.insert(args.end(), {"--rng", "src=/dev/urandom", "--watchdog"});
  // Windows: no balloon at all (virtio-win deflation storm,
  // docs/cocoon-lessons.md §6).
  if (c.memory_bytes() >= kBalloonMinMemory && !c.windows()) {
    args.insert(args.end(),
                {"--balloon",
                 absl::StrCat("size=", c.memory_bytes() / 4,
                              ",deflate_on_oom=on,free_page_reporting=on")});
  }
  if (direct) {
    args.insert(args.end(), {"--serial", "off", "--console", "pty"});
  } else {
    args.insert(args.end(),
                {"--serial", absl::StrCat("socket=", paths.console_socket),
                 "--console", "off"});
  }
  return args;
}

}  // namespace chtools::launch
