// What a VM record may make the tools touch. A record on stdin is a request,
// not an authority: the per-VM dirs are derived from the settings and the id
// (paths.h), a writable disk is only ever the VM's own disk in its own run
// dir, and read-only images, kernel, initrd and firmware are regular files
// outside every VM's run dir (a VM's cidata.img excepted, its own).
#ifndef CHTOOLS_LIB_VM_TRUST_H_
#define CHTOOLS_LIB_VM_TRUST_H_

#include "absl/status/status.h"
#include "lib/record/records.pb.h"

namespace chtools::vm {

// Pure. InvalidArgument naming the field when `vm` (under `field_path`, e.g.
// "vm[2]") has a run_dir/log_dir other than the derived ones (empty is
// fine), a writable disk other than its own cow.raw / overlay.qcow2, or a
// read-only disk, kernel, initrd or firmware inside the run dirs' parent
// (other than its own cidata.img).
absl::Status CheckRecordPaths(const ToolConfig& config, const Vm& vm,
                              absl::string_view field_path = "");

// The files start hands to CH exist: each read-only disk, kernel, initrd and
// firmware is a regular file (no device, FIFO or directory), and the
// writable disk is there. FailedPrecondition naming the field and the path
// ("storage[2]: /run/.../cow.raw: No such file or directory: the VM's disk
// is gone").
absl::Status CheckBootFiles(const ToolConfig& config, const Vm& vm);

}  // namespace chtools::vm

#endif  // CHTOOLS_LIB_VM_TRUST_H_
