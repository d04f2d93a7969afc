// Writes the cidata image of docs/cocoon-lessons.md §4.5's worked example to
// argv[1], for checking it with fsck.fat and mtools.
#include <cstdio>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/launch/cidata.h"
#include "lib/launch/fat12.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  chtools::Vm vm;
  vm.set_id("0123456789abcdef");
  vm.mutable_config()->set_name("web-1");
  chtools::NetworkConfig* n = vm.add_network();
  n->set_tap("tap0");
  n->set_mac("02:00:0a:58:00:05");
  n->mutable_ipv4()->set_ip("10.88.0.5");
  n->mutable_ipv4()->set_prefix(16);
  n->mutable_ipv4()->set_gateway("10.88.0.1");
  auto files = chtools::launch::BuildCidataFiles(vm, "it's-secret",
                                                 {"8.8.8.8", "1.1.1.1"});
  if (!files.ok()) return 1;
  std::vector<chtools::launch::Fat12File> fat = {
      {"meta-data", files->meta_data},
      {"user-data", files->user_data},
      {"network-config", *files->network_config}};
  auto img = chtools::launch::BuildFat12Image(
      fat, "CIDATA", 0xC0C0A001,
      absl::ToCivilSecond(absl::Now(), absl::LocalTimeZone()));
  if (!img.ok()) return 1;
  FILE* f = std::fopen(argv[1], "wbe");
  if (f == nullptr) return 1;
  bool ok = std::fwrite(img->data(), 1, img->size(), f) == img->size();
  return std::fclose(f) == 0 && ok ? 0 : 1;
}
