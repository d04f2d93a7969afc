// Writes the NoCloud files (meta-data, user-data, network-config) of three
// VMs to argv[1]/<case>/, for cidata_cloudinit_test.sh to feed to cloud-init
// and netplan. The cases, whose values that script asserts on:
//   static_gw    id0 02:00:0a:58:00:05 10.88.0.5/16 via 10.88.0.1, two DNS,
//                a root password
//   static_nogw  id0 02:00:c0:a8:32:0a 192.168.50.10/24, no gateway, no DNS
//   two_nics     docs/cocoon-lessons.md §4.5's worked example: static_gw's NIC
//   plus
//                id1 02:00:0a:59:00:07 on DHCP
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/launch/cidata.h"
#include "lib/record/records.pb.h"

namespace {

void AddNic(chtools::Vm& vm, const std::string& mac, const std::string& ip,
            int prefix, const std::string& gateway) {
  chtools::NetworkConfig* n = vm.add_network();
  n->set_tap(absl::StrCat("tap", vm.network_size() - 1));
  n->set_mac(mac);
  if (ip.empty()) return;
  n->mutable_ipv4()->set_ip(ip);
  n->mutable_ipv4()->set_prefix(prefix);
  if (!gateway.empty()) n->mutable_ipv4()->set_gateway(gateway);
}

bool WriteFile(const std::string& path, const std::string& content) {
  FILE* f = std::fopen(path.c_str(), "we");
  if (f == nullptr) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  return std::fclose(f) == 0 && ok;
}

bool WriteCase(const std::string& dir, const std::string& name,
               const chtools::Vm& vm, const std::string& root_password,
               const std::vector<std::string>& dns) {
  const std::string out = absl::StrCat(dir, "/", name);
  if (mkdir(out.c_str(), 0755) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "mkdir %s: %s\n", out.c_str(), std::strerror(errno));
    return false;
  }
  auto files = chtools::launch::BuildCidataFiles(vm, root_password, dns);
  if (!files.ok()) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(),
                 files.status().ToString().c_str());
    return false;
  }
  return WriteFile(out + "/meta-data", files->meta_data) &&
         WriteFile(out + "/user-data", files->user_data) &&
         files->network_config.has_value() &&
         WriteFile(out + "/network-config", *files->network_config);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return 1;
  const std::vector<std::string> dns = {"8.8.8.8", "1.1.1.1"};

  chtools::Vm static_gw;
  static_gw.set_id("0123456789abcdef");
  static_gw.mutable_config()->set_name("static-gw");
  AddNic(static_gw, "02:00:0a:58:00:05", "10.88.0.5", 16, "10.88.0.1");

  chtools::Vm static_nogw;
  static_nogw.set_id("1123456789abcdef");
  static_nogw.mutable_config()->set_name("static-nogw");
  AddNic(static_nogw, "02:00:c0:a8:32:0a", "192.168.50.10", 24, "");

  chtools::Vm two_nics;
  two_nics.set_id("2123456789abcdef");
  two_nics.mutable_config()->set_name("web-1");
  AddNic(two_nics, "02:00:0a:58:00:05", "10.88.0.5", 16, "10.88.0.1");
  AddNic(two_nics, "02:00:0a:59:00:07", "", 0, "");

  bool ok = WriteCase(dir, "static_gw", static_gw, "it's-secret", dns) &&
            WriteCase(dir, "static_nogw", static_nogw, "", {}) &&
            WriteCase(dir, "two_nics", two_nics, "it's-secret", dns);
  return ok ? 0 : 1;
}
