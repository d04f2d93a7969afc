// Vmm hot-plug handlers: vm.add-disk, vm.add-net, vm.remove-device and
// vm.resize (see vmm.h and docs/ch-v51.md §2.4).
#include "absl/strings/str_cat.h"
#include "integration/sim/devices.h"
#include "integration/sim/vm_config.h"
#include "integration/sim/vmm.h"

namespace chtools::sim {
namespace {

absl::Status Err(absl::string_view chain) { return absl::InternalError(chain); }

absl::Status Chain(absl::string_view head, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(head, "\n", s.message()));
}

}  // namespace

absl::StatusOr<std::optional<Json>> Vmm::AddDisk(const Json& body) {
  const char* head = "The disk could not be added to the VM";
  if (!config_) return Chain(head, Err("VM is not created"));
  Json candidate = *config_;
  if (!candidate["disks"].is_array()) candidate["disks"] = Json::array();
  candidate["disks"].push_back(body);
  if (absl::Status v = ValidateVmConfig(candidate); !v.ok()) {
    return Chain(head, Chain("Failed to validate config", v));
  }
  if (!vm_) {
    *config_ = std::move(candidate);
    return std::optional<Json>();
  }
  Json disk = body;
  if (disk["id"].is_null()) disk["id"] = vm_->NextDeviceName("_disk", *config_);
  std::string id = disk["id"].get<std::string>();
  if (vm_->device_tree.contains(id)) {
    return Chain(head, Err(absl::StrCat(
                           "Error from device manager\nInvalid identifier as "
                           "it is not unique: ",
                           id)));
  }
  auto dev = OpenDisk(disk);
  if (!dev.ok())
    return Chain(head, Chain("Error from device manager", dev.status()));
  (*dev)->id = id;
  if (absl::Status s = LockDisk(**dev); !s.ok()) {
    return Chain(head, Chain("Error from device manager", s));
  }
  disk["image_type"] = (*dev)->image_type;
  std::string bdf = vm_->AddPciNode(id);
  vm_->disks.push_back(*std::move(dev));
  if (!(*config_)["disks"].is_array()) (*config_)["disks"] = Json::array();
  (*config_)["disks"].push_back(disk);
  return std::optional<Json>(Json{{"id", id}, {"bdf", bdf}});
}

absl::StatusOr<std::optional<Json>> Vmm::AddNet(const Json& body) {
  const char* head = "The network device could not be added to the VM";
  if (!config_) return Chain(head, Err("VM is not created"));
  Json net = body;
  net["fds"] = nullptr;
  Json candidate = *config_;
  if (!candidate["net"].is_array()) candidate["net"] = Json::array();
  candidate["net"].push_back(net);
  if (absl::Status v = ValidateVmConfig(candidate); !v.ok()) {
    return Chain(head, Chain("Failed to validate config", v));
  }
  if (!vm_) {
    *config_ = std::move(candidate);
    return std::optional<Json>();
  }
  if (net["id"].is_null()) net["id"] = vm_->NextDeviceName("_net", *config_);
  std::string id = net["id"].get<std::string>();
  if (vm_->device_tree.contains(id)) {
    return Chain(head, Err(absl::StrCat(
                           "Error from device manager\nInvalid identifier as "
                           "it is not unique: ",
                           id)));
  }
  auto dev = OpenNet(net);
  if (!dev.ok())
    return Chain(head, Chain("Error from device manager", dev.status()));
  (*dev)->id = id;
  if (!(*dev)->host_mac.empty()) net["host_mac"] = (*dev)->host_mac;
  std::string bdf = vm_->AddPciNode(id);
  vm_->nets.push_back(*std::move(dev));
  if (!(*config_)["net"].is_array()) (*config_)["net"] = Json::array();
  (*config_)["net"].push_back(net);
  return std::optional<Json>(Json{{"id", id}, {"bdf", bdf}});
}

absl::Status Vmm::RemoveDevice(const Json& body) {
  const char* head = "The device could not be removed from the VM";
  if (!config_) return Chain(head, Err("VM is not created"));
  std::string id = body["id"].get<std::string>();
  auto remove_from_config = [&]() {
    bool found = false;
    for (const char* list : {"disks", "net"}) {
      Json& arr = (*config_)[list];
      if (!arr.is_array()) continue;
      for (size_t i = 0; i < arr.size(); ++i) {
        if (arr[i]["id"].is_string() && arr[i]["id"].get<std::string>() == id) {
          arr.erase(i);
          found = true;
          break;
        }
      }
    }
    return found;
  };
  if (!vm_) {
    if (!remove_from_config()) {
      return Chain(
          head, Err(absl::StrCat("No device with id \"", id, "\" to remove")));
    }
    return absl::OkStatus();
  }
  if (!vm_->device_tree.contains(id)) {
    return Chain(head, Err("Error from device manager\nFailed to find device "
                           "corresponding to the given identifier"));
  }
  bool removable = false;
  for (auto& d : vm_->disks) removable |= d->id == id;
  for (auto& n : vm_->nets) removable |= n->id == id;
  if (!removable) {
    return Chain(head, Err(absl::StrCat(
                           "Error from device manager\nNot allowed to remove "
                           "this type of device from the VM: ",
                           id)));
  }
  remove_from_config();
  vm_->pending_ejects.push_back(id);
  // A running guest ejects shortly after the ACPI notification.
  loop_->After(absl::Milliseconds(10), [this] { RunPendingEjects(); });
  return absl::OkStatus();
}

absl::Status Vmm::Resize(const Json& body) {
  const char* head = "The VM could not be resized";
  if (!config_) return Chain(head, Err("VM is not created"));
  Json& c = *config_;
  if (!vm_) {
    if (body["desired_vcpus"].is_number())
      c["cpus"]["boot_vcpus"] = body["desired_vcpus"];
    if (body["desired_ram"].is_number())
      c["memory"]["size"] = body["desired_ram"];
    if (body["desired_balloon"].is_number() && c["balloon"].is_object()) {
      c["balloon"]["size"] = body["desired_balloon"];
    }
    return absl::OkStatus();
  }
  if (body["desired_vcpus"].is_number()) {
    uint64_t want = body["desired_vcpus"].get<uint64_t>();
    if (want > c["cpus"]["max_vcpus"].get<uint64_t>()) {
      return Chain(
          head, Err("Error from CPU manager\nRequested vCPUs exceed maximum"));
    }
    vm_->vcpus = static_cast<int>(want);
    c["cpus"]["boot_vcpus"] = want;
  }
  if (body["desired_ram"].is_number()) {
    uint64_t want = body["desired_ram"].get<uint64_t>();
    uint64_t base = c["memory"]["size"].get<uint64_t>();
    uint64_t room = c["memory"]["hotplug_size"].is_number()
                        ? c["memory"]["hotplug_size"].get<uint64_t>()
                        : 0;
    if (want < base || want > base + room) {
      return Chain(head,
                   Err("Error from memory manager\nInvalid amount of memory to "
                       "hotplug"));
    }
    c["memory"]["hotplugged_size"] = want - base;
  }
  if (body["desired_balloon"].is_number()) {
    if (!c["balloon"].is_object()) {
      return Chain(head,
                   Err("Error from device manager\nNo balloon device has been "
                       "created"));
    }
    c["balloon"]["size"] = body["desired_balloon"];
  }
  return absl::OkStatus();
}

}  // namespace chtools::sim
