// The writable disks of a new VM, made as cocoon makes them
// (docs/cocoon-lessons.md §3.2): a sparse raw COW formatted by mkfs.ext4
// (direct boot), a qcow2 overlay on the base image grown by qemu-img (cloud
// image), the NoCloud cidata.img.
#ifndef CHTOOLS_LIB_VM_DISKS_H_
#define CHTOOLS_LIB_VM_DISKS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "lib/record/records.pb.h"
#include "lib/vm/env.h"

namespace chtools::vm {

// Creates `path` (0600, exclusively, never through a symlink) as a sparse
// file of `size_bytes` and runs
// "mkfs.ext4 -F -m 0 -q -E lazy_itable_init=1,lazy_journal_init=1,discard".
// Internal "mkfs.ext4 COW: <output>" if mkfs fails.
absl::Status MakeCowRaw(const Env& env, const std::string& path,
                        int64_t size_bytes);

// "qemu-img create -f qcow2 -F qcow2 -b <base> <overlay>", then, when
// `size_bytes` exceeds the virtual size (qemu-img info), "qemu-img resize".
// The overlay is created 0600 (qemu-img makes it with the umask's mode).
absl::Status MakeOverlay(const Env& env, const std::string& base,
                         const std::string& overlay, int64_t size_bytes);

// Writes the 1 MiB FAT12 NoCloud image (label CIDATA) of `vm` to `path`
// (0600, exclusively). InvalidArgument for a bad NIC address.
absl::Status MakeCidata(const Env& env, const Vm& vm,
                        const std::string& root_password,
                        const std::vector<std::string>& dns,
                        const std::string& path);

}  // namespace chtools::vm

#endif  // CHTOOLS_LIB_VM_DISKS_H_
