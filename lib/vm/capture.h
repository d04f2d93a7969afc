// Capturing a running VM (docs/cocoon-lessons.md §3.8, docs/ch-v51.md §4):
// pause, vm.snapshot into a private temp dir of the store, copy the writable
// disk while paused (reflink where the filesystem can, else a sparse copy),
// resume exactly once on every path (errors, a full disk, SIGINT/SIGTERM
// arriving meanwhile, CH dying); then, outside the pause window, the cidata
// copy, holes for the zero blocks of CH's dense memory-ranges and a SHA-256
// per file. The VM's operation lock is held throughout.
#ifndef CHTOOLS_LIB_VM_CAPTURE_H_
#define CHTOOLS_LIB_VM_CAPTURE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/record/records.pb.h"
#include "lib/snapshot/store.h"
#include "lib/vm/env.h"

namespace chtools::vm {

struct CaptureOptions {
  std::string name;         // optional snapshot name (VM name rule)
  std::string description;  // free text
};

// Timings of the pause window, for benchmarks.
struct CaptureTimes {
  absl::Duration pause_window;   // vm.pause sent -> vm.resume answered
  absl::Duration snapshot_call;  // the vm.snapshot call alone
  absl::Duration disk_copy;      // the writable disk's copy (in the window)
  std::string disk_copy_method;  // "reflink" or "sparse copy"
};

struct Captured {
  Snapshot record;        // manifest filled in; not yet published
  snapshot::TempDir dir;  // holds the files
  // Not ok when vm.resume failed: the VM was marked ERROR with CH's message;
  // the snapshot itself is complete.
  absl::Status resume_error;
  CaptureTimes times;
};

// Captures running VM `id` into a new temp dir of `store`. Calls
// `with_snapshot(captured)` while the VM's lock is still held (to publish it,
// or stream it out) and returns what that returns; the VM's snapshot_ids
// gain the id when `record_on_vm`. FailedPrecondition when the VM does not
// run; Cancelled when interrupted (after the resume); the temp dir is gone
// on every error.
absl::StatusOr<Snapshot> CaptureVm(
    const Env& env, const snapshot::Store& store, absl::string_view id,
    const CaptureOptions& options, bool record_on_vm,
    const std::function<absl::StatusOr<Snapshot>(Captured&)>& with_snapshot);

}  // namespace chtools::vm

#endif  // CHTOOLS_LIB_VM_CAPTURE_H_
