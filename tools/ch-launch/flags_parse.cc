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

absl::StatusOr<int64_t> ParseSize(absl::string_view flag,
                                  absl::string_view text) {
  auto bad = [&]() {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", text,
                     ": not a size (e.g. 512M, 1G, 10GiB, or bytes)"));
  };
  std::string s = absl::AsciiStrToLower(text);
  size_t digits = 0;
  while (digits < s.size() && absl::ascii_isdigit(s[digits])) ++digits;
  if (digits == 0) return bad();
  uint64_t n;
  if (!absl::SimpleAtoi(s.substr(0, digits), &n)) return bad();
  std::string suffix = s.substr(digits);
  if (absl::EndsWith(suffix, "b")) suffix.pop_back();
  if (absl::EndsWith(suffix, "i")) suffix.pop_back();
  int shift;
  if (suffix.empty()) {
    shift = 0;
  } else if (suffix.size() == 1 &&
             std::string("kmgtp").find(suffix[0]) != std::string::npos) {
    shift = 10 * (1 + static_cast<int>(std::string("kmgtp").find(suffix[0])));
  } else {
    return bad();
  }
  if (n > (uint64_t{INT64_MAX} >> shift)) return bad();
  return static_cast<int64_t>(n << shift);
}

absl::StatusOr<chtools::NetworkConfig> ParseNicSpec(absl::string_view spec) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("--nic ", spec, ": ", why));
  };
  chtools::NetworkConfig nic;
  std::string gw;
  for (absl::string_view part : absl::StrSplit(spec, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    const std::string& k = kv.first;
    const std::string& v = kv.second;
    if (v.empty()) return bad(absl::StrCat("\"", part, "\" is not key=value"));
    if (k == "tap") {
      nic.set_tap(v);
    } else if (k == "mac") {
      nic.set_mac(v);
    } else if (k == "netns") {
      nic.set_netns_path(
          v.find('/') == std::string::npos ? "/var/run/netns/" + v : v);
    } else if (k == "ip") {
      std::pair<std::string, std::string> ap =
          absl::StrSplit(v, absl::MaxSplits('/', 1));
      int prefix;
      if (!IsIpv4(ap.first))
        return bad(
            absl::StrCat("ip: \"", ap.first, "\" is not an IPv4 address"));
      if (!absl::SimpleAtoi(ap.second, &prefix) || prefix < 1 || prefix > 32) {
        return bad(absl::StrCat("ip: \"", v,
                                "\" needs a prefix length 1..32 (a.b.c.d/nn)"));
      }
      nic.mutable_ipv4()->set_ip(ap.first);
      nic.mutable_ipv4()->set_prefix(prefix);
    } else if (k == "gw") {
      if (!IsIpv4(v))
        return bad(absl::StrCat("gw: \"", v, "\" is not an IPv4 address"));
      gw = v;
    } else {
      return bad(absl::StrCat("unknown key \"", k,
                              "\" (expected tap, mac, netns, ip, gw)"));
    }
  }
  if (nic.tap().empty()) return bad("tap= is required");
  if (!gw.empty()) {
    if (!nic.has_ipv4()) return bad("gw= needs ip=");
    nic.mutable_ipv4()->set_gateway(gw);
  }
  return nic;
}

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
