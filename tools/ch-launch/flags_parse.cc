#include "tools/ch-launch/flags_parse.h"

#include <arpa/inet.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/record/ids.h"

namespace ch_launch {

using ::chtools::record::IsIpv4;

bool CreateFlags::Any() const {
  return !name.empty() || !cpu.empty() || !memory.empty() || !storage.empty() ||
         !image.empty() || !layers.empty() || !kernel.empty() ||
         !initrd.empty() || !base.empty() || !firmware.empty() ||
         !nics.empty() || windows;
}

absl::StatusOr<chtools::Vm> VmFromFlags(const CreateFlags& f) {
  chtools::Vm vm;
  chtools::VmConfig* c = vm.mutable_config();
  if (f.name.empty()) return absl::InvalidArgumentError("--name is required");
  c->set_name(f.name);
  int cpu = 2;
  if (!f.cpu.empty() && (!absl::SimpleAtoi(f.cpu, &cpu) || cpu < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cpu=", f.cpu, ": not a positive number"));
  }
  c->set_cpu(cpu);
  int64_t memory = int64_t{1} << 30, storage = int64_t{10} << 30;
  if (!f.memory.empty()) {
    absl::StatusOr<int64_t> m = ParseSize("memory", f.memory);
    if (!m.ok()) return m.status();
    memory = *m;
  }
  if (!f.storage.empty()) {
    absl::StatusOr<int64_t> s = ParseSize("storage", f.storage);
    if (!s.ok()) return s.status();
    storage = *s;
  }
  c->set_memory_bytes(memory);
  c->set_storage_bytes(storage);
  c->set_image(f.image);
  c->set_windows(f.windows);
  bool direct = !f.kernel.empty() || !f.initrd.empty() || !f.layers.empty();
  bool cloud = !f.base.empty() || !f.firmware.empty();
  if (direct && cloud) {
    return absl::InvalidArgumentError(
        "--kernel/--initrd/--layer (direct boot) and --base/--firmware (cloud "
        "image) exclude each other");
  }
  if (direct) {
    if (f.kernel.empty() || f.initrd.empty()) {
      return absl::InvalidArgumentError(
          "direct boot needs both --kernel and --initrd");
    }
    vm.mutable_boot()->set_kernel_path(f.kernel);
    vm.mutable_boot()->set_initrd_path(f.initrd);
    for (size_t i = 0; i < f.layers.size(); ++i) {
      chtools::StorageConfig* s = vm.add_storage();
      s->set_path(f.layers[i]);
      s->set_ro(true);
      s->set_serial(absl::StrCat("cocoon-layer", i));
    }
  } else if (cloud) {
    if (f.base.empty() || f.firmware.empty()) {
      return absl::InvalidArgumentError(
          "a cloud image needs both --base and --firmware");
    }
    vm.mutable_boot()->set_firmware_path(f.firmware);
    chtools::StorageConfig* s = vm.add_storage();
    s->set_path(f.base);
    s->set_ro(true);
    s->set_serial("cocoon-base");
  } else {
    return absl::InvalidArgumentError(
        "say how the VM boots: --kernel + --initrd [--layer ...], or --base + "
        "--firmware");
  }
  for (const std::string& spec : f.nics) {
    absl::StatusOr<chtools::NetworkConfig> n = ParseNicSpec(spec);
    if (!n.ok()) return n.status();
    *vm.add_network() = *n;
  }
  return vm;
}

}  // namespace ch_launch
