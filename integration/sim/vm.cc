// Building the Vm object; see vm.h.
#include "integration/sim/vm.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "integration/sim/vm_config.h"

namespace chtools::sim {
namespace {

absl::Status Chain(absl::string_view head, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(head, "\n", s.message()));
}

bool NameUsed(const std::string& name, const Json& config, const Json& tree) {
  if (tree.contains(name)) return true;
  for (const char* list : {"disks", "net"}) {
    if (!config[list].is_array()) continue;
    for (const Json& d : config[list]) {
      if (d["id"].is_string() && d["id"].get<std::string>() == name)
        return true;
    }
  }
  return false;
}

// Copies the data extents of memory-ranges into guest RAM (holes stay zero).
absl::Status FillMemory(GuestMemory& mem, const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrCat("Memory manager error\nError opening snapshot file\n",
                     OsErrorText(errno)));
  }
  UniqueFd owned(fd);
  off_t size = lseek(fd, 0, SEEK_END);
  if (size < 0 || static_cast<uint64_t>(size) < mem.size()) {
    // CH v51 would spin forever on a short file; the simulator refuses it.
    return absl::DataLossError(absl::StrCat(
        "Memory manager error\nError reading snapshot file\nmemory-ranges has ",
        size, " bytes, guest RAM is ", mem.size()));
  }
  off_t pos = 0;
  while (static_cast<uint64_t>(pos) < mem.size()) {
    off_t data = lseek(fd, pos, SEEK_DATA);
    if (data < 0) break;  // only holes left
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) hole = size;
    if (static_cast<uint64_t>(hole) > mem.size())
      hole = static_cast<off_t>(mem.size());
    for (off_t p = data; p < hole;) {
      ssize_t n = pread(fd, mem.data() + p, static_cast<size_t>(hole - p), p);
      if (n <= 0) {
        return absl::InternalError(
            absl::StrCat("Memory manager error\nError reading snapshot file\n",
                         OsErrorText(errno)));
      }
      p += n;
    }
    pos = hole;
  }
  return absl::OkStatus();
}

}  // namespace

Vm::~Vm() {
  guest.reset();
  if (serial) serial->UnlinkSocket();
}

std::string Vm::NextDeviceName(const std::string& prefix, const Json& config) {
  while (true) {
    std::string name = absl::StrCat(prefix, device_id_cnt++);
    if (!NameUsed(name, config, device_tree)) return name;
  }
}

std::string Vm::AddPciNode(const std::string& id) {
  // The lowest free slot on bus 0, as freed slots are reused after eject.
  std::set<unsigned> used;
  for (auto& [name, node] : device_tree.items()) {
    unsigned dev = 0;
    if (node["pci_bdf"].is_string() &&
        sscanf(node["pci_bdf"].get<std::string>().c_str(), "0000:00:%x.0",
               &dev) == 1) {
      used.insert(dev);
    }
  }
  unsigned slot = 1;
  while (used.count(slot)) ++slot;
  std::string bdf = absl::StrFormat("0000:00:%02x.0", slot);
  std::string pci = "_virtio-pci-" + id;
  device_tree[id] = Json{{"id", id},
                         {"resources", Json::array()},
                         {"parent", pci},
                         {"children", Json::array()},
                         {"pci_bdf", nullptr}};
  device_tree[pci] = Json{{"id", pci},
                          {"resources", Json::array()},
                          {"parent", nullptr},
                          {"children", Json::array({id})},
                          {"pci_bdf", bdf}};
  return bdf;
}

void Vm::Eject(const std::string& id) {
  device_tree.erase(id);
  device_tree.erase("_virtio-pci-" + id);
  for (auto it = disks.begin(); it != disks.end(); ++it) {
    if ((*it)->id == id) {
      disks.erase(it);
      return;
    }
  }
  for (auto it = nets.begin(); it != nets.end(); ++it) {
    if ((*it)->id == id) {
      nets.erase(it);
      return;
    }
  }
}

DiskDevice* Vm::MarkerDisk() {
  for (auto& d : disks) {
    if (!d->readonly) return d.get();
  }
  return nullptr;
}

absl::StatusOr<std::unique_ptr<Vm>> BuildVm(Json& config,
                                            const RestoreState* restore) {
  if (absl::Status v = ValidateVmConfig(config); !v.ok()) {
    return Chain("Failed to validate config", v);
  }
  auto vm = std::make_unique<Vm>();
  const Json& payload = config["payload"];
  if (payload["initramfs"].is_string()) {
    std::string p = payload["initramfs"].get<std::string>();
    int fd = open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::NotFoundError(
          absl::StrCat("Cannot open initramfs file\n", OsErrorText(errno)));
    }
    close(fd);
  }
  // The kernel is opened by a loader thread at boot, not at restore.
  if (!restore && payload["kernel"].is_string()) {
    std::string p = payload["kernel"].get<std::string>();
    int fd = open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::NotFoundError(
          absl::StrCat("Cannot open kernel file\n", OsErrorText(errno)));
    }
    close(fd);
  }
  if (!restore && payload["firmware"].is_string()) {
    std::string p = payload["firmware"].get<std::string>();
    int fd = open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::NotFoundError(
          absl::StrCat("Cannot open firmware file\n", OsErrorText(errno)));
    }
    close(fd);
  }
  // The entropy source is opened when the rng device is made.
  if (config["rng"]["src"].is_string()) {
    std::string p = config["rng"]["src"].get<std::string>();
    int fd = open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::NotFoundError(absl::StrCat(
          "Error from device manager\nFailed to open entropy source\n",
          OsErrorText(errno)));
    }
    close(fd);
  }
  vm->vcpus =
      restore ? restore->vcpus
              : static_cast<int>(config["cpus"]["boot_vcpus"].get<uint64_t>());
  uint64_t ram =
      restore ? restore->memory_size : config["memory"]["size"].get<uint64_t>();
  if (restore) {
    vm->device_id_cnt = restore->device_id_cnt;
    vm->device_tree = restore->device_tree;
  }
  auto mem = GuestMemory::Create(ram);
  if (!mem.ok()) return mem.status();
  vm->memory = *std::move(mem);
  if (restore) {
    if (absl::Status s = FillMemory(*vm->memory, restore->memory_path); !s.ok())
      return s;
  }
  for (const char* fixed : {"__ioapic", "__serial"}) {
    vm->device_tree[fixed] = Json{{"id", fixed},
                                  {"resources", Json::array()},
                                  {"parent", nullptr},
                                  {"children", Json::array()},
                                  {"pci_bdf", nullptr}};
  }
  if (config["console"]["mode"] != "Off" &&
      !vm->device_tree.contains("__console")) {
    vm->AddPciNode("__console");
  }
  if (config["disks"].is_array()) {
    for (Json& d : config["disks"]) {
      if (d["id"].is_null()) d["id"] = vm->NextDeviceName("_disk", config);
      auto disk = OpenDisk(d);
      if (!disk.ok()) return Chain("Error from device manager", disk.status());
      (*disk)->id = d["id"].get<std::string>();
      d["image_type"] = (*disk)->image_type;
      if (!vm->device_tree.contains((*disk)->id)) vm->AddPciNode((*disk)->id);
      vm->disks.push_back(*std::move(disk));
    }
  }
  if (config["net"].is_array()) {
    for (Json& n : config["net"]) {
      if (n["id"].is_null()) n["id"] = vm->NextDeviceName("_net", config);
      auto net = OpenNet(n);
      if (!net.ok()) return Chain("Error from device manager", net.status());
      (*net)->id = n["id"].get<std::string>();
      if (restore) {
        auto it = restore->net_macs.find((*net)->id);
        if (it != restore->net_macs.end()) (*net)->mac = it->second;
      }
      if (!(*net)->host_mac.empty()) n["host_mac"] = (*net)->host_mac;
      if (!vm->device_tree.contains((*net)->id)) vm->AddPciNode((*net)->id);
      vm->nets.push_back(*std::move(net));
    }
  }
  if (!vm->device_tree.contains("__rng")) vm->AddPciNode("__rng");
  if (config["balloon"].is_object() && !vm->device_tree.contains("__balloon")) {
    vm->AddPciNode("__balloon");
  }
  if (config["watchdog"] == true && !vm->device_tree.contains("__watchdog")) {
    vm->AddPciNode("__watchdog");
  }
  return vm;
}

}  // namespace chtools::sim
