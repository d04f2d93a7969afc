#include "lib/launch/cidata.h"

#include <arpa/inet.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "lib/record/ids.h"

namespace chtools::launch {

using ::chtools::record::IsIpv4;
namespace {

absl::Status CheckNic(const NetworkConfig& nic, int i) {
  if (!nic.has_ipv4()) return absl::OkStatus();
  std::string field = absl::StrCat("network[", i, "].ipv4");
  if (!IsIpv4(nic.ipv4().ip())) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".ip: \"", nic.ipv4().ip(), "\" is not an IPv4 address"));
  }
  if (nic.ipv4().prefix() < 1 || nic.ipv4().prefix() > 32) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".prefix: prefix ", nic.ipv4().prefix(),
                     " is not an IPv4 prefix length (1..32)"));
  }
  if (!nic.ipv4().gateway().empty() && !IsIpv4(nic.ipv4().gateway())) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".gateway: \"", nic.ipv4().gateway(),
                     "\" is not an IPv4 address"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CidataFiles> BuildCidataFiles(
    const Vm& vm, const std::string& root_password,
    const std::vector<std::string>& dns) {
  std::vector<const NetworkConfig*> nics;
  for (int i = 0; i < vm.network_size(); ++i) {
    if (vm.network(i).mac().empty()) continue;
    if (absl::Status s = CheckNic(vm.network(i), i); !s.ok()) return s;
    nics.push_back(&vm.network(i));
  }
  CidataFiles f;
  f.meta_data = absl::StrCat("instance-id: ", vm.id(),
                             "\nlocal-hostname: ", vm.config().name(), "\n");

  std::string& u = f.user_data;
  u = "#cloud-config\nwarnings:\n  dsid_missing_source: off\n";
  if (!root_password.empty()) {
    absl::StrAppend(&u, "chpasswd:\n  expire: false\n  list:\n    - 'root:",
                    absl::StrReplaceAll(root_password, {{"'", "''"}}),
                    "'\nssh_pwauth: true\ndisable_root: false\n");
  }
  if (!nics.empty()) {
    u += "write_files:\n";
    for (size_t i = 0; i < nics.size(); ++i) {
      const NetworkConfig& n = *nics[i];
      absl::StrAppend(&u, "  - path: /etc/systemd/network/15-cocoon-id", i,
                      ".network\n    owner: root:root\n"
                      "    permissions: '0644'\n    content: |\n"
                      "      [Match]\n      MACAddress=",
                      n.mac(), "\n\n", "      [Link]\n      RequiredForOnline=",
                      i == 0 ? "yes" : "no", "\n\n      [Network]\n");
      if (n.has_ipv4()) {
        absl::StrAppend(&u, "      Address=", n.ipv4().ip(), "/",
                        n.ipv4().prefix(), "\n");
        if (!n.ipv4().gateway().empty()) {
          absl::StrAppend(&u, "      Gateway=", n.ipv4().gateway(), "\n");
        }
        for (const std::string& d : dns)
          absl::StrAppend(&u, "      DNS=", d, "\n");
      } else {
        u += "      DHCP=ipv4\n";
      }
    }
  }

  if (!nics.empty()) {
    std::string c = "version: 2\nethernets:\n";
    for (size_t i = 0; i < nics.size(); ++i) {
      const NetworkConfig& n = *nics[i];
      absl::StrAppend(&c, "  id", i, ":\n    match:\n      macaddress: \"",
                      n.mac(), "\"\n");
      if (n.has_ipv4()) {
        absl::StrAppend(&c, "    addresses:\n      - ", n.ipv4().ip(), "/",
                        n.ipv4().prefix(), "\n");
        if (!n.ipv4().gateway().empty()) {
          // Not netplan's `to: default`: cloud-init 22.4's own v2 parser
          // (used by its networkd, eni and sysconfig renderers) rejects it as
          // "not a valid ip address"; every reader takes 0.0.0.0/0.
          absl::StrAppend(&c,
                          "    routes:\n      - to: 0.0.0.0/0\n        via: ",
                          n.ipv4().gateway(), "\n");
        }
        if (!dns.empty()) {
          c += "    nameservers:\n      addresses:\n";
          for (const std::string& d : dns)
            absl::StrAppend(&c, "        - ", d, "\n");
        }
      } else {
        c += "    dhcp4: true\n";
      }
    }
    f.network_config = std::move(c);
  }
  return f;
}

}  // namespace chtools::launch
