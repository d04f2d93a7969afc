// Request-body schemas of the CH v51 API as serde enforces them: required
// fields, JSON types, integer ranges, enum spellings and serde defaults.
// Output keeps CH's struct field order (the order vm.info prints).
#ifndef CHTOOLS_INTEGRATION_SIM_SCHEMA_H_
#define CHTOOLS_INTEGRATION_SIM_SCHEMA_H_

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace chtools::sim {

using Json = nlohmann::ordered_json;

// Each returns the body with every defaulted field filled in, or
// InvalidArgument carrying a serde-style message ("missing field `size`",
// "invalid type: string \"x\", expected a boolean", "unknown variant ...").
// Unknown fields are ignored and dropped, as serde does.
absl::StatusOr<Json> NormalizeVmConfig(const Json& in);
absl::StatusOr<Json> NormalizeDiskConfig(const Json& in);
absl::StatusOr<Json> NormalizeNetConfig(const Json& in);
absl::StatusOr<Json> NormalizeSnapshotConfig(
    const Json& in);                                          // destination_url
absl::StatusOr<Json> NormalizeRestoreConfig(const Json& in);  // source_url, ...
absl::StatusOr<Json> NormalizeRemoveDevice(const Json& in);   // id
absl::StatusOr<Json> NormalizeResize(const Json& in);         // desired_*

// A random locally administered unicast MAC, lowercase "aa:bb:..".
std::string RandomMac();
// True for "xx:xx:xx:xx:xx:xx" with hex digits (either case).
bool IsValidMac(const std::string& mac);

}  // namespace chtools::sim

#endif  // CHTOOLS_INTEGRATION_SIM_SCHEMA_H_
