// Validation of records, separate from parsing and pure (no syscalls).
// Errors are InvalidArgument naming the field path, what is wrong and what is
// expected: `vm[2].config.name: "a b" is invalid: must match ...`.
#ifndef CHTOOLS_LIB_RECORD_VALIDATE_H_
#define CHTOOLS_LIB_RECORD_VALIDATE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "lib/record/records.pb.h"

namespace chtools::record {

inline constexpr absl::string_view kNamePattern =
    "^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$";
inline constexpr int64_t kMinMemoryBytes = int64_t{512} << 20;
inline constexpr int64_t kMinStorageBytes = int64_t{10} << 30;

// Cocoon's VM name rule (kNamePattern). InvalidArgument "<path>: ...".
absl::Status ValidateName(absl::string_view name, absl::string_view field_path);

// Resources: name, cpu >= 1, memory >= 512 MiB, storage >= 10 GiB.
absl::Status ValidateVmConfig(const VmConfig& config,
                              absl::string_view field_path);

// A complete VM record as stored in the index: id (16 lowercase hex), a
// state, a valid config, disks (absolute paths; read-only disks need a
// serial), NICs (MAC, IPv4, prefix 1..32), absolute boot/run/log/netns
// paths, RFC 3339 timestamps. `field_path` prefixes messages ("vm[2]").
absl::Status ValidateVm(const Vm& vm, absl::string_view field_path);

// A snapshot record: id, optional name (kNamePattern), file list (plain
// names, sha256 hex), absolute data dir, RFC 3339 created_at.
absl::Status ValidateSnapshot(const Snapshot& s, absl::string_view field_path);

// Every vm and snapshot of `records` ("vm[i]", "snapshot[i]"), plus: no two
// VMs in the stream share an id or a name, no two snapshots share an id.
// Returns the first problem found.
absl::Status ValidateRecords(const Records& records);

}  // namespace chtools::record

#endif  // CHTOOLS_LIB_RECORD_VALIDATE_H_
