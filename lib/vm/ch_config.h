// A snapshot's config.json and state.json, made fit for a clone or a restore
// (docs/ch-v51.md §4.5: CH restores devices from config.json, so its paths
// decide what CH opens; docs/cocoon-lessons.md §3.9). Both files may come
// from another host: they are parsed structurally (never edited as text),
// rewritten, and the result is confined: every path it names lies in the
// VM's own run dir or is one of the read-only files the caller allows.
// Pure: no syscalls.
#ifndef CHTOOLS_LIB_VM_CH_CONFIG_H_
#define CHTOOLS_LIB_VM_CH_CONFIG_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chtools::vm {

// One disk of config.json, in its order.
struct ChDisk {
  std::string id;  // CH's device id ("_disk0"); may be empty
  std::string path;
  bool readonly = false;
  std::string serial;
};

// One NIC of config.json, in its order.
struct ChNic {
  std::string id;  // CH's device id ("_net2"): what vm.remove-device takes
  std::string tap;
  std::string mac;
  int num_queues = 0;
};

// What a clone or restore needs to know of config.json.
struct ChConfig {
  std::vector<ChDisk> disks;
  std::vector<ChNic> nics;
  int boot_vcpus = 0;
  int max_vcpus = 0;
  uint64_t memory_size = 0;
  std::string kernel, initramfs, firmware;  // payload; "" when null
};

// Parses config.json (`name` is used in errors). InvalidArgument when it is
// not a JSON object, nests deeper than 64 levels, lacks cpus/memory/disks,
// or has a field of the wrong type.
absl::StatusOr<ChConfig> ParseChConfig(absl::string_view text,
                                       absl::string_view name);

// How config.json is rewritten.
struct ConfigRewrite {
  // The clone's (or restored VM's) run dir: every file CH may create or
  // write lies in it.
  std::string run_dir;
  // New path of each disk, in config.json's order (same count).
  std::vector<std::string> disk_paths;
  // New tap of each NIC, in config.json's order (same count).
  std::vector<std::string> taps;
  // Direct boot: serial off, console on a new PTY. Firmware boot: serial on
  // `console_socket` (inside run_dir), console off.
  bool direct_boot = true;
  std::string console_socket;
  // Read-only files config.json may name outside run_dir: the kernel,
  // initramfs, firmware and read-only disks the snapshot's record names.
  std::set<std::string> allowed_ro_files;
};

// config.json rewritten per `rw`: disks[i].path, net[i].tap (and the NIC's
// fds, host_mac and ip/mask dropped), serial/console replaced wholesale (no
// stale PTY), debug_console off; every other field, known to chtools or not,
// kept. Then confined: InvalidArgument naming the JSON field when a device
// that chtools never makes is present (fs, pmem, vsock, VFIO/user/vDPA
// devices, TPM, landlock rules, vhost-user disks or NICs, file-backed memory
// zones), when rng.src is not /dev/urandom or /dev/random, when the payload or
// a read-only disk names a file outside `allowed_ro_files`, a writable disk
// lies outside run_dir, or any other string names a path (contains '/';
// the kernel command line excepted). Compact JSON out.
absl::StatusOr<std::string> RewriteChConfig(absl::string_view text,
                                            absl::string_view name,
                                            const ConfigRewrite& rw);

// state.json with every string equal to a key of `paths` replaced by its
// value, also inside the JSON documents CH keeps in strings
// (snapshot_data.state); never by substring. Returns `text` unchanged when
// nothing matched. InvalidArgument when it is not JSON or nests deeper than
// 128 levels.
absl::StatusOr<std::string> RewriteChState(
    absl::string_view text, absl::string_view name,
    const std::map<std::string, std::string>& paths);

}  // namespace chtools::vm

#endif  // CHTOOLS_LIB_VM_CH_CONFIG_H_
