// PolicyBuilder: an allow-list seccomp-bpf filter (libseccomp) assembled from
// named groups of syscalls (groups.h), loaded into the calling process. Every
// syscall not allowed kills the whole process (SIGSYS). x86_64 only.
#ifndef CHTOOLS_LIB_SANDBOX_POLICY_H_
#define CHTOOLS_LIB_SANDBOX_POLICY_H_

#include <vector>

#include "absl/status/status.h"
#include "lib/sandbox/groups.h"

namespace chtools::sandbox {

// What happens on a syscall outside the policy.
enum class Violation {
  // SCMP_ACT_KILL_PROCESS: the whole process dies by SIGSYS. The default.
  kKillProcess,
  // Development only: SCMP_ACT_TRAP with a SIGSYS handler that prints
  // "seccomp: syscall N (name) not allowed" to stderr and makes the call fail
  // with ENOSYS, so one run lists every syscall a policy is missing (an
  // audit-free SCMP_ACT_LOG). Never for production: the process goes on.
  kReport,
  // Development only: SCMP_ACT_LOG, the call is allowed and the kernel logs
  // it ("audit: type=1326 ... comm=... syscall=N" in dmesg), so a whole test
  // suite runs unchanged while it lists what a policy lacks.
  kLog,
};

// Usage (after set-up, before reading untrusted input):
//   RETURN_IF_ERROR(PolicyBuilder()
//                       .Allow(Group::kBasicProcess)
//                       .Allow(Group::kReadWrite)
//                       .AllowCreateIn(staging_fd)
//                       .Apply());
class PolicyBuilder {
 public:
  PolicyBuilder() = default;

  // Adds a named group (groups.h says what each holds and why). Idempotent.
  PolicyBuilder& Allow(Group group);

  // Allows creating new files in the directory `dirfd` and removing them:
  // openat(dirfd, name, flags) only when flags hold O_CREAT|O_EXCL|O_NOFOLLOW,
  // and unlinkat(dirfd, name, 0). Pointers cannot be inspected by seccomp, so
  // an absolute name still escapes the dir fd; O_EXCL limits that to creating
  // a file that did not exist (never writing an existing one).
  PolicyBuilder& AllowCreateIn(int dirfd);

  // Overrides the action on a violation (default kKillProcess).
  PolicyBuilder& OnViolation(Violation violation);

  // Sets PR_SET_NO_NEW_PRIVS and loads the filter into every thread of the
  // calling process; it stays for the rest of the process's life and across
  // execve. Errors: Unimplemented (not x86_64), Internal (libseccomp refused
  // a rule: a bug in a group), errno statuses from prctl/seccomp_load.
  absl::Status Apply() const;

  // The rules Apply would load, for tests and --help texts.
  std::vector<Rule> Rules() const;

 private:
  std::vector<Group> groups_;
  std::vector<int> create_dirs_;
  Violation violation_ = Violation::kKillProcess;
};

}  // namespace chtools::sandbox

#endif  // CHTOOLS_LIB_SANDBOX_POLICY_H_
