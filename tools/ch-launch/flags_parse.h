// Pure parsers for ch-launch's create flags: sizes ("1G", "512MiB") and NIC
// specs ("tap=tap0,mac=..,netns=..,ip=10.0.0.2/24,gw=10.0.0.1").
#ifndef CHTOOLS_TOOLS_CH_LAUNCH_FLAGS_PARSE_H_
#define CHTOOLS_TOOLS_CH_LAUNCH_FLAGS_PARSE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/cli/values.h"
#include "lib/record/records.pb.h"

namespace ch_launch {

// The size and NIC-spec parsers live in lib/cli/values.h (ch-clone takes
// --nic too).
using chtools::cli::ParseNicSpec;
using chtools::cli::ParseSize;

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
