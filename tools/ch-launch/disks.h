// The writable disks of a new VM, made as cocoon makes them (reference 3.2):
// a sparse raw COW formatted by mkfs.ext4 (direct boot), a qcow2 overlay on
// the base image grown by qemu-img (cloud image), the NoCloud cidata.img.
#ifndef CHTOOLS_TOOLS_CH_LAUNCH_DISKS_H_
#define CHTOOLS_TOOLS_CH_LAUNCH_DISKS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "lib/record/records.pb.h"

namespace ch_launch {

// Creates `path` (0600) as a sparse file of `size_bytes` and runs
// "mkfs.ext4 -F -m 0 -q -E lazy_itable_init=1,lazy_journal_init=1,discard".
// Internal "mkfs.ext4 COW: <output>" if mkfs fails.
absl::Status MakeCowRaw(const std::string& path, int64_t size_bytes);

// "qemu-img create -f qcow2 -F qcow2 -b <base> <overlay>", then, when
// `size_bytes` exceeds the virtual size (qemu-img info), "qemu-img resize".
absl::Status MakeOverlay(const std::string& base, const std::string& overlay,
                         int64_t size_bytes);

// Writes the 1 MiB FAT12 NoCloud image (label CIDATA) of `vm` to `path`
// (0600). InvalidArgument for a bad NIC address.
absl::Status MakeCidata(const chtools::Vm& vm, const std::string& root_password,
                        const std::vector<std::string>& dns, const std::string& path);

}  // namespace ch_launch

#endif  // CHTOOLS_TOOLS_CH_LAUNCH_DISKS_H_
