// Pure parsers for ch-launch's create flags: sizes ("1G", "512MiB") and NIC
// specs ("tap=tap0,mac=..,netns=..,ip=10.0.0.2/24,gw=10.0.0.1").
#ifndef CHTOOLS_TOOLS_CH_LAUNCH_FLAGS_PARSE_H_
#define CHTOOLS_TOOLS_CH_LAUNCH_FLAGS_PARSE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/record/records.pb.h"

namespace ch_launch {

// Bytes of a size with an optional binary suffix k/m/g/t/p (case-insensitive,
// optionally followed by "i" and/or "b"); a bare number is bytes: "1G" ->
// 1073741824. InvalidArgument naming `flag` otherwise (or on overflow).
absl::StatusOr<int64_t> ParseSize(absl::string_view flag,
                                  absl::string_view text);

// A NIC from "key=value" pairs joined by ',': tap (required), mac, netns (a
// path, or a name under /var/run/netns), ip=<a.b.c.d>/<prefix>, gw (needs
// ip). InvalidArgument "--nic <spec>: ..." on an unknown key or a bad value.
absl::StatusOr<chtools::NetworkConfig> ParseNicSpec(absl::string_view spec);

// The create flags as typed.
struct CreateFlags {
  std::string name{}, cpu{}, memory{}, storage{}, image{};
  std::vector<std::string> layers{};  // --layer, repeatable, bottom first
  std::string kernel{}, initrd{};     // direct boot
  std::string base{}, firmware{};     // cloud image
  std::vector<std::string> nics{};    // --nic, repeatable
  bool windows = false;
  // True if any create flag was given (else the record comes from stdin).
  bool Any() const;
};

// The input record of create from flags: defaults cpu 2, memory 1G, storage
// 10G; layers get serials cocoon-layer<i>; --base becomes storage[0]
// (serial cocoon-base). Usage-level InvalidArgument naming the flag.
absl::StatusOr<chtools::Vm> VmFromFlags(const CreateFlags& f);

}  // namespace ch_launch

#endif  // CHTOOLS_TOOLS_CH_LAUNCH_FLAGS_PARSE_H_
