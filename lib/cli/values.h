// Pure parsers for flag values several tools take: sizes ("1G", "512MiB")
// and NIC specs ("tap=tap0,mac=..,netns=..,ip=10.0.0.2/24,gw=10.0.0.1").
#ifndef CHTOOLS_LIB_CLI_VALUES_H_
#define CHTOOLS_LIB_CLI_VALUES_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/record/records.pb.h"

namespace chtools::cli {

// Bytes of a size with an optional binary suffix k/m/g/t/p (case-insensitive,
// optionally followed by "i" and/or "b"); a bare number is bytes: "1G" ->
// 1073741824. InvalidArgument naming `flag` otherwise (or on overflow).
absl::StatusOr<int64_t> ParseSize(absl::string_view flag,
                                  absl::string_view text);

// A NIC from "key=value" pairs joined by ',': tap (required), mac, netns (a
// path, or a name under /var/run/netns), ip=<a.b.c.d>/<prefix>, gw (needs
// ip). InvalidArgument "--nic <spec>: ..." on an unknown key or a bad value.
absl::StatusOr<NetworkConfig> ParseNicSpec(absl::string_view spec);

}  // namespace chtools::cli

#endif  // CHTOOLS_LIB_CLI_VALUES_H_
