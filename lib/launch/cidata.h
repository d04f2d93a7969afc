// The three cloud-init NoCloud files of a cloud-image VM
// (docs/cocoon-lessons.md §4.5), byte-exact with cocoon's except
// RequiredForOnline=, which systemd-networkd reads only under [Link] (cocoon
// put it under [Network], docs/cocoon-lessons.md §7.9), and the default route,
// written `to: 0.0.0.0/0` (cocoon's `to: default` is netplan-only:
// cloud-init 22.4's networkd, eni and sysconfig renderers fail).
#ifndef CHTOOLS_LIB_LAUNCH_CIDATA_H_
#define CHTOOLS_LIB_LAUNCH_CIDATA_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/record/records.pb.h"

namespace chtools::launch {

struct CidataFiles {
  std::string meta_data;
  std::string user_data;
  // Present iff at least one NIC has a MAC.
  std::optional<std::string> network_config;
};

// Builds the files for `vm` (id, config.name, NICs with a MAC, in order).
// `root_password` empty = none; `dns` is written to every static NIC.
// InvalidArgument for a bad prefix or address on a NIC (naming the field).
absl::StatusOr<CidataFiles> BuildCidataFiles(
    const Vm& vm, const std::string& root_password,
    const std::vector<std::string>& dns);

}  // namespace chtools::launch

#endif  // CHTOOLS_LIB_LAUNCH_CIDATA_H_
