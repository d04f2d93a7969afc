// VmConfig from CH command-line option values (vmm/src/config.rs parse
// functions) and VmConfig::validate(), both pure.
#ifndef CHTOOLS_INTEGRATION_SIM_VM_CONFIG_H_
#define CHTOOLS_INTEGRATION_SIM_VM_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "integration/sim/schema.h"

namespace chtools::sim {

// Option name (without "--") -> its values (one for single-valued options).
using CliValues = std::map<std::string, std::vector<std::string>>;

// Builds the normalised VmConfig the CLI describes. Errors are '\n'-joined
// chains such as "Error parsing --disk\nunknown option: foo".
absl::StatusOr<Json> VmConfigFromCli(const CliValues& values);

// --restore source_url=...,prefault=on -> RestoreConfig JSON.
absl::StatusOr<Json> RestoreConfigFromCli(const std::string& value);

// --api-socket: "path=/x", "fd=3" or a bare path -> {path} or {fd}.
struct ApiSocketSpec {
  std::string path;
  int fd = -1;
};
absl::StatusOr<ApiSocketSpec> ParseApiSocket(const std::string& value);

// VmConfig::validate(): the chain below "Failed to validate config" /
// "Error validating configuration", e.g. "Max CPUs lower than boot CPUs".
absl::Status ValidateVmConfig(const Json& config);

}  // namespace chtools::sim

#endif  // CHTOOLS_INTEGRATION_SIM_VM_CONFIG_H_
