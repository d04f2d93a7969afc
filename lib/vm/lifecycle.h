// Start, stop, rm and debug of one VM (the steps of cocoon's backend, with
// its lessons): each operation takes the VM's operation lock (op_lock.h)
// for its whole length; its paths come from the settings and the id
// (paths.h), never from the record; its CH is found and signalled only
// through lib/process pidfds (FindChProcess), and a process that serves the
// VM's socket but cannot be proven to be its CH blocks every operation.
#ifndef CHTOOLS_LIB_VM_LIFECYCLE_H_
#define CHTOOLS_LIB_VM_LIFECYCLE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/process/ch_process.h"
#include "lib/record/records.pb.h"
#include "lib/vm/env.h"
#include "lib/vm/paths.h"

namespace chtools::vm {

// The record of `id` with run_dir/log_dir set to the derived ones.
absl::StatusOr<Vm> LoadVm(const Env& env, absl::string_view id);

// The live CH of `vm`, nullopt if there is none. FailedPrecondition when a
// process serves its API socket that cannot be proven to be its CH.
absl::StatusOr<std::optional<process::ChProcess>> FindCh(const Env& env,
                                                         const Vm& vm);

// The CH argv (binary first) that start runs for `vm`. Errors as BuildChArgs.
absl::StatusOr<std::vector<std::string>> ChArgv(const Env& env, const Vm& vm);

// How long an operation waits for another one on the same VM to finish.
absl::Duration LockWait(const Env& env);

// Starts VM `id`: idempotent (a live CH is reported, and an ERROR or stale
// record with a live CH becomes RUNNING); otherwise removes stale runtime
// files, saves the quoted command in <run>/cmdline, spawns CH detached (own
// session, the NICs' netns, output appended to the log), writes ch.pid
// atomically, waits for api.sock and then for vm.info to say Running (CH
// serves before it boots). A failed launch kills CH, marks the record ERROR
// and returns CH's whole error chain from the log. Returns the RUNNING record
// with pid and api_socket. FailedPrecondition for a CREATING record.
absl::StatusOr<Vm> StartVm(const Env& env, absl::string_view id);

// Stops VM `id`: firmware boot: vm.power-button, wait up to `timeout`, then
// escalate; direct boot: vm.shutdown, SIGTERM, grace, SIGKILL. A VM without a
// live CH just becomes STOPPED. On failure the record becomes ERROR.
absl::StatusOr<Vm> StopVm(const Env& env, absl::string_view id,
                          absl::Duration timeout);

// Removes VM `id` with its run and log dirs: a live CH needs `force` (which
// stops it first; FailedPrecondition otherwise). Returns the record as it was.
absl::StatusOr<Vm> RemoveVm(const Env& env, absl::string_view id, bool force,
                            absl::Duration timeout);

// Removes only the record of VM `id` (vm-index rm), under the operation lock:
// FailedPrecondition while a CH runs for it or one may (unprovable).
absl::StatusOr<Vm> ForgetVm(const Env& env, absl::string_view id);

// Finishes a restore that died half way (lib/vm/clone.h), for a caller that
// holds the VM's lock: a committed one (restore-done) only leaves garbage; an
// uncommitted one that had stopped the VM gets its CH killed and the VM's
// previous disk put back (the record becomes STOPPED); the staging dir goes.
// Start, stop and restore call it first.
absl::Status RecoverRestoreHeld(const Env& env, const Vm& vm);

// StopVm for a caller that already holds the VM's operation lock.
absl::StatusOr<Vm> StopVmHeld(const Env& env, const Vm& vm,
                              absl::Duration timeout);

// The network namespace all of `vm`'s NICs are in ("" = the host's; CH runs
// in one). InvalidArgument when they differ.
absl::StatusOr<std::string> VmNetns(const Vm& vm);

// CH's own account of why a launch failed: its error chain in the VM's log
// from offset `since` (where that launch began), at most the last 16 KiB.
std::string ChLogSince(const VmPaths& p, off_t since);

// The command start would run, quoted for pasting into a shell.
absl::StatusOr<std::string> DebugVm(const Env& env, absl::string_view id);

}  // namespace chtools::vm

#endif  // CHTOOLS_LIB_VM_LIFECYCLE_H_
