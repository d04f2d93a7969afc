// RunConfined: one function run in a forked child under a seccomp policy
// (policy.h), its result (bytes, or an error status) sent back to the
// unconfined parent over a pipe. For the code that parses untrusted input in
// a program that cannot confine itself (it runs other programs later, and a
// filter survives execve).
#ifndef CHTOOLS_LIB_SANDBOX_CONFINED_CALL_H_
#define CHTOOLS_LIB_SANDBOX_CONFINED_CALL_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/sandbox/policy.h"

namespace chtools::sandbox {

// Forks. The child points stdout at /dev/null (a compromised parser must not
// write to the parent's output) unless stdout is one of `keep_fds`, closes
// every fd from 3 up except `keep_fds`, restores the default
// SIGINT/SIGTERM/SIGHUP actions, applies `policy`, runs `fn` and writes its
// result to a pipe (so `policy` must allow Group::kReadWrite). The parent reads
// at most `max_result_bytes`, reaps the child and returns what `fn` returned:
// its bytes, or its error status (code and message; payloads are dropped).
// Errors of its own, all Internal and starting with `what`: the child died by a
// signal (SIGSYS: "a syscall outside its seccomp policy"), exited without a
// result, sent more than `max_result_bytes`, or a report that does not decode.
// The caller must be single-threaded (fork).
absl::StatusOr<std::string> RunConfined(
    absl::string_view what, const PolicyBuilder& policy,
    const std::vector<int>& keep_fds, size_t max_result_bytes,
    absl::FunctionRef<absl::StatusOr<std::string>()> fn);

}  // namespace chtools::sandbox

#endif  // CHTOOLS_LIB_SANDBOX_CONFINED_CALL_H_
