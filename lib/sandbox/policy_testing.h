// Test helpers for seccomp policies: run a function in a forked child under a
// policy and look at how the child ended. Tests only.
#ifndef CHTOOLS_LIB_SANDBOX_POLICY_TESTING_H_
#define CHTOOLS_LIB_SANDBOX_POLICY_TESTING_H_

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <functional>

#include "lib/sandbox/policy.h"

namespace chtools::sandbox::testing {

// The wait status of a forked child that applies `policy`, then runs `fn`
// and exits 0 if it returned true, 1 if not (2 if the policy did not load);
// -1 if the child could not be started or waited for.
inline int RunUnderPolicy(const PolicyBuilder& policy,
                          const std::function<bool()>& fn) {
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (!policy.Apply().ok()) ::_exit(2);
    ::_exit(fn() ? 0 : 1);
  }
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  return r == pid ? status : -1;
}

// True for a child that a policy killed.
inline bool KilledBySigsys(int status) {
  return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

}  // namespace chtools::sandbox::testing

#endif  // CHTOOLS_LIB_SANDBOX_POLICY_TESTING_H_
