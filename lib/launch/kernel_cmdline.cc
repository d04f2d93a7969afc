#include "lib/launch/kernel_cmdline.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/status_macros.h"
#include "lib/record/ids.h"

namespace chtools::launch {

using ::chtools::record::IsIpv4;
using ::chtools::record::IsIpv6;

absl::StatusOr<std::vector<std::string>> ReverseLayerSerials(
    const google::protobuf::RepeatedPtrField<StorageConfig>& storage) {
  std::vector<std::string> serials;
  for (int i = 0; i < storage.size(); ++i) {
    if (!storage[i].ro()) continue;
    if (storage[i].serial().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "storage[", i, "]: read-only disk ", storage[i].path(),
          " has no serial (a direct-boot guest finds its layers by serial)"));
    }
    serials.push_back(storage[i].serial());
  }
  std::reverse(serials.begin(), serials.end());
  return serials;
}

absl::StatusOr<std::string> PrefixToNetmask(int prefix) {
  if (prefix < 1 || prefix > 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "prefix ", prefix, " is not an IPv4 prefix length (1..32)"));
  }
  uint32_t mask = prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
  return absl::StrCat(mask >> 24, ".", (mask >> 16) & 0xff, ".",
                      (mask >> 8) & 0xff, ".", mask & 0xff);
}

absl::StatusOr<std::vector<std::string>> KernelDnsServers(
    const std::vector<std::string>& dns) {
  std::vector<std::string> out;
  for (const std::string& d : dns) {
    if (IsIpv4(d)) {
      if (out.size() < 2) out.push_back(d);
    } else if (!IsIpv6(d)) {
      return absl::InvalidArgumentError(
          absl::StrCat("DNS server \"", d, "\" is not an IP address"));
    }
    // IPv6 servers are skipped: ip= is colon-delimited and IPv4-only.
  }
  return out;
}

absl::StatusOr<std::string> BuildKernelCmdline(
    const Vm& vm, const std::vector<std::string>& dns) {
  ASSIGN_OR_RETURN(std::vector<std::string> layers,
                   ReverseLayerSerials(vm.storage()));
  ASSIGN_OR_RETURN(std::vector<std::string> servers, KernelDnsServers(dns));
  const std::string& name = vm.config().name();
  std::string out =
      absl::StrCat("console=hvc0 loglevel=3 boot=cocoon-overlay cocoon.layers=",
                   absl::StrJoin(layers, ","),
                   " cocoon.cow=cocoon-cow clocksource=kvm-clock rw");
  if (vm.network_size() == 0) return out;
  absl::StrAppend(&out, " net.ifnames=0 cocoon.hostname=", name);
  for (int i = 0; i < vm.network_size(); ++i) {
    const NetworkConfig& nic = vm.network(i);
    if (!nic.has_ipv4()) continue;
    const Ipv4Config& v4 = nic.ipv4();
    std::string field = absl::StrCat("network[", i, "].ipv4");
    if (!IsIpv4(v4.ip())) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".ip: \"", v4.ip(), "\" is not an IPv4 address"));
    }
    if (!v4.gateway().empty() && !IsIpv4(v4.gateway())) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".gateway: \"", v4.gateway(), "\" is not an IPv4 address"));
    }
    absl::StatusOr<std::string> mask = PrefixToNetmask(v4.prefix());
    if (!mask.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".prefix: ", mask.status().message()));
    }
    absl::StrAppend(&out, " ip=", v4.ip(), "::", v4.gateway(), ":", *mask, ":",
                    name, ":eth", i, ":off");
    for (const std::string& s : servers) absl::StrAppend(&out, ":", s);
  }
  return out;
}

}  // namespace chtools::launch
