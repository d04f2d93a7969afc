// Fuzz target: ch-launch's create-flag parsers (flags_parse.h, and the size
// and NIC-spec parsers of lib/cli/values.h). The input is split at newlines
// into flag values: name, cpu, memory, storage, image, layers (comma
// separated), kernel, initrd, base, firmware, then one --nic per line. Never
// crashes; errors name the flag; a size parses back from its own digits; a
// NIC spec that parses has a tap.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/testing/fuzz/check.h"
#include "tools/ch-launch/flags_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> f = absl::StrSplit(text, '\n');
  f.resize(std::max<size_t>(f.size(), 11));

  for (const std::string& v : f) {
    absl::StatusOr<int64_t> n = ch_launch::ParseSize("--memory", v);
    if (n.ok()) {
      FUZZ_CHECK(*n >= 0, "negative size ", *n, " from ", v);
      absl::StatusOr<int64_t> again =
          ch_launch::ParseSize("--memory", absl::StrCat(*n));
      FUZZ_CHECK(again.ok() && *again == *n, "size ", *n,
                 " does not parse back");
    } else {
      FUZZ_CHECK(absl::StrContains(n.status().message(), "--memory"),
                 "error does not name the flag: ", n.status().ToString());
    }
    absl::StatusOr<chtools::NetworkConfig> nic = ch_launch::ParseNicSpec(v);
    if (nic.ok()) FUZZ_CHECK(!nic->tap().empty(), "NIC without a tap: ", v);
  }

  ch_launch::CreateFlags flags;
  flags.name = f[0];
  flags.cpu = f[1];
  flags.memory = f[2];
  flags.storage = f[3];
  flags.image = f[4];
  if (!f[5].empty()) flags.layers = absl::StrSplit(f[5], ',');
  flags.kernel = f[6];
  flags.initrd = f[7];
  flags.base = f[8];
  flags.firmware = f[9];
  for (size_t i = 10; i < f.size(); ++i) {
    if (!f[i].empty()) flags.nics.push_back(f[i]);
  }
  flags.windows = size > 0 && (data[0] & 1) != 0;
  absl::StatusOr<chtools::Vm> vm = ch_launch::VmFromFlags(flags);
  if (!vm.ok()) {
    FUZZ_CHECK(absl::StrContains(vm.status().message(), "--"),
               "error names no flag: ", vm.status().ToString());
  }
  return 0;
}
