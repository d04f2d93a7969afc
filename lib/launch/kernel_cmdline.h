// The kernel command line of a direct-boot (OCI) VM, byte-exact with cocoon's
// (docs/cocoon-lessons.md §4.2), minus its defects: no IPv6 DNS server in ip=,
// and an invalid prefix or a read-only disk without serial is an input error.
#ifndef CHTOOLS_LIB_LAUNCH_KERNEL_CMDLINE_H_
#define CHTOOLS_LIB_LAUNCH_KERNEL_CMDLINE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/record/records.pb.h"

namespace chtools::launch {

// Serials of the read-only disks, last first (overlayfs lowerdir order):
// [layer0(ro), layer1(ro), cow] -> [cocoon-layer1, cocoon-layer0].
// InvalidArgument naming storage[i] if a read-only disk has no serial.
absl::StatusOr<std::vector<std::string>> ReverseLayerSerials(
    const google::protobuf::RepeatedPtrField<StorageConfig>& storage);

// Dotted netmask of an IPv4 prefix length: 16 -> "255.255.0.0".
// InvalidArgument outside 1..32.
absl::StatusOr<std::string> PrefixToNetmask(int prefix);

// The DNS servers usable in the kernel's ip= parameter: the first two IPv4
// entries of `dns`. InvalidArgument if an entry is not an IP address.
absl::StatusOr<std::vector<std::string>> KernelDnsServers(
    const std::vector<std::string>& dns);

// Builds the cmdline from the VM's name, storage and NICs:
// "console=hvc0 loglevel=3 boot=cocoon-overlay cocoon.layers=<serials>
// cocoon.cow=cocoon-cow clocksource=kvm-clock rw" then, with NICs,
// " net.ifnames=0 cocoon.hostname=<name>" and one ip= per static NIC.
// InvalidArgument for a bad address, prefix or serial (naming the field).
absl::StatusOr<std::string> BuildKernelCmdline(
    const Vm& vm, const std::vector<std::string>& dns);

}  // namespace chtools::launch

#endif  // CHTOOLS_LIB_LAUNCH_KERNEL_CMDLINE_H_
