// Validation of records, separate from parsing and pure (no syscalls).
// Errors are InvalidArgument naming the field path, what is wrong and what is
// expected: `vm[2].config.name: "a b" is invalid: must match ...`.
#ifndef CHTOOLS_LIB_RECORD_VALIDATE_H_
#define CHTOOLS_LIB_RECORD_VALIDATE_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "lib/record/records.pb.h"

namespace chtools::record {

inline constexpr absl::string_view kNamePattern =
    "^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$";
inline constexpr int64_t kMinMemoryBytes = int64_t{512} << 20;
inline constexpr int64_t kMinStorageBytes = int64_t{10} << 30;
// Cloud Hypervisor's maximum number of vCPUs on x86_64 (v51).
inline constexpr int kMaxCpus = 254;
// Far above any host this runs on; bounds every later sum of sizes well
// inside int64.
inline constexpr int64_t kMaxMemoryBytes = int64_t{16} << 40;
inline constexpr int64_t kMaxStorageBytes = int64_t{64} << 40;
// Guest memory is mapped in whole pages.
inline constexpr int64_t kPageBytes = 4096;

// Bounds on every string and repeated field of a record, checked generically
// (protobuf reflection), so that fields added later are covered too. Strings
// must be valid UTF-8: protobuf writes a proto3 string with invalid UTF-8 but
// refuses to read it back, so such a record could never be listed or removed.
// Paths (fields named path, *_path, *_dir or *_socket; PATH_MAX) and the
// kernel command line may be kMaxPathBytes long, any other string
// kMaxTextBytes: records are listed in full, and one huge field made every
// `vm-index ls` slow.
inline constexpr size_t kMaxPathBytes = 4096;
inline constexpr size_t kMaxTextBytes = 1024;
// Cloud Hypervisor attaches each disk and NIC as a device in a PCI segment of
// 32 slots: these are generous bounds, far above what boots.
inline constexpr int kMaxDisks = 32;
inline constexpr int kMaxNics = 16;
// Any other repeated field (blob ids, snapshot ids, snapshot files).
inline constexpr int kMaxRepeated = 1024;

// Cocoon's VM name rule (kNamePattern). InvalidArgument "<path>: ...".
absl::Status ValidateName(absl::string_view name, absl::string_view field_path);

// Resources: the field bounds, name, cpu 1..kMaxCpus, memory 512 MiB..16 TiB
// in whole 4 KiB pages, storage 10 GiB..64 TiB.
absl::Status ValidateVmConfig(const VmConfig& config,
                              absl::string_view field_path);

// The generic bounds above for any record message: every string field valid
// UTF-8 and within its size, every repeated field within its count, nested
// messages included. InvalidArgument "<path>.<field>: ...".
absl::Status ValidateFieldBounds(const google::protobuf::Message& m,
                                 absl::string_view field_path);

// A complete VM record as stored in the index: the field bounds, id (16
// lowercase hex), a state, a valid config (Windows only with firmware boot),
// disks (absolute paths; read-only disks of a direct-boot VM need a serial),
// NICs (unicast MAC; IPv4 a host address of its subnet, prefix 1..32, the
// gateway another host of that subnet), absolute boot/run/log/netns paths,
// RFC 3339 timestamps. `field_path` prefixes messages ("vm[2]").
absl::Status ValidateVm(const Vm& vm, absl::string_view field_path);

// A snapshot record: the field bounds, id, optional name (kNamePattern),
// resources within the VM bounds, file list (plain names, sha256 hex),
// absolute data dir, RFC 3339 created_at.
absl::Status ValidateSnapshot(const Snapshot& s, absl::string_view field_path);

// Every vm and snapshot of `records` ("vm[i]", "snapshot[i]"), plus: no two
// VMs in the stream share an id or a name, no two snapshots share an id.
// Returns the first problem found.
absl::Status ValidateRecords(const Records& records);

}  // namespace chtools::record

#endif  // CHTOOLS_LIB_RECORD_VALIDATE_H_
