#include "lib/sandbox/policy.h"

#include <seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"
#include "lib/sandbox/groups.h"

namespace chtools::sandbox {
namespace {

// Built with AddressSanitizer (--config=asan or --config=fuzz, .bazelrc)?
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitizerBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitizerBuild = true;
#else
constexpr bool kSanitizerBuild = false;
#endif
#else
constexpr bool kSanitizerBuild = false;
#endif

// LeakSanitizer's check at exit stops the world with a ptrace-attached
// tracer task, which no policy allows (and which must never be allowed in a
// release build). In a sanitizer build, Apply therefore runs the leak check
// once just before it loads the filter (a leak in set-up fails the run as
// usual) and LeakSanitizer then skips the check at exit: leaks made after
// lock-down go unreported in sandboxed processes (the same code paths run
// unsandboxed in the unit tests, where the check at exit stays on).
extern "C" __attribute__((weak)) void __lsan_do_leak_check();

// What the sanitizer runtimes themselves call inside a sandboxed process,
// added in sanitizer builds only (never in a release build).
std::vector<Rule> SanitizerRuntimeRules() {
  return {
      {SCMP_SYS(pipe2), {}, "sanitizer: probes memory through a pipe"},
      {SCMP_SYS(pipe), {}, "sanitizer: probes memory through a pipe"},
      {SCMP_SYS(sigaltstack), {}, "sanitizer: drops its signal stack at exit"},
  };
}

struct ScmpFilterDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
// scmp_filter_ctx is a void*.
using ScmpFilter = std::unique_ptr<void, ScmpFilterDeleter>;

#if defined(__x86_64__)
// Async-signal-safe: formats `n` in decimal into `out` (at least 21 bytes).
size_t FormatDecimal(long n, char* out) {
  char tmp[21];
  size_t len = 0;
  unsigned long u = n < 0 ? 0UL - static_cast<unsigned long>(n)
                          : static_cast<unsigned long>(n);
  do {
    tmp[len++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  size_t i = 0;
  if (n < 0) out[i++] = '-';
  while (len > 0) out[i++] = tmp[--len];
  return i;
}

// Violation::kReport: names the syscall and makes it fail with ENOSYS.
void ReportViolation(int, siginfo_t* info, void* context) {
  char msg[96];
  static constexpr char kPrefix[] = "seccomp: syscall ";
  static constexpr char kSuffix[] = " not allowed (failing it with ENOSYS)\n";
  size_t len = sizeof(kPrefix) - 1;
  std::memcpy(msg, kPrefix, len);
  len += FormatDecimal(info->si_syscall, msg + len);
  std::memcpy(msg + len, kSuffix, sizeof(kSuffix) - 1);
  len += sizeof(kSuffix) - 1;
  (void)!::write(STDERR_FILENO, msg, len);
  auto* uc = static_cast<ucontext_t*>(context);
  uc->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
}
#endif

}  // namespace

PolicyBuilder& PolicyBuilder::Allow(Group group) {
  if (std::find(groups_.begin(), groups_.end(), group) == groups_.end()) {
    groups_.push_back(group);
  }
  return *this;
}

PolicyBuilder& PolicyBuilder::AllowCreateIn(int dirfd) {
  create_dirs_.push_back(dirfd);
  return *this;
}

PolicyBuilder& PolicyBuilder::OnViolation(Violation violation) {
  violation_ = violation;
  return *this;
}

std::vector<Rule> PolicyBuilder::Rules() const {
  std::vector<Rule> rules;
  const pid_t self = ::getpid();
  for (Group g : groups_) {
    std::vector<Rule> r = GroupRules(g, self);
    rules.insert(rules.end(), r.begin(), r.end());
  }
  for (int fd : create_dirs_) {
    std::vector<Rule> r = CreateInRules(fd);
    rules.insert(rules.end(), r.begin(), r.end());
  }
  if (kSanitizerBuild) {
    std::vector<Rule> r = SanitizerRuntimeRules();
    rules.insert(rules.end(), r.begin(), r.end());
  }
  return rules;
}

absl::Status PolicyBuilder::Apply() const {
#if !defined(__x86_64__)
  return absl::UnimplementedError(
      "seccomp policies are written for x86_64 only (run with --no-seccomp)");
#else
  uint32_t action = SCMP_ACT_KILL_PROCESS;
  std::vector<Rule> rules = Rules();
  if (violation_ == Violation::kLog) action = SCMP_ACT_LOG;
  if (violation_ == Violation::kReport) {
    action = SCMP_ACT_TRAP;
    struct sigaction sa = {};
    sa.sa_sigaction = ReportViolation;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (::sigaction(SIGSYS, &sa, nullptr) != 0) {
      return ErrnoError(errno, "sigaction", "SIGSYS");
    }
    rules.push_back({SCMP_SYS(write),
                     {SCMP_A0_32(SCMP_CMP_EQ, STDERR_FILENO)},
                     "the report of a violation"});
    rules.push_back(
        {SCMP_SYS(rt_sigreturn), {}, "return from the report handler"});
  }
  if (kSanitizerBuild && __lsan_do_leak_check != nullptr) {
    __lsan_do_leak_check();
  }
  ScmpFilter filter(seccomp_init(action));
  if (filter == nullptr) return absl::InternalError("seccomp_init failed");
  // Threads started before Apply (none today) get the same filter, or the
  // load fails.
  if (int r = seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_TSYNC, 1); r < 0) {
    return ErrnoError(-r, "seccomp_attr_set", "SCMP_FLTATR_CTL_TSYNC");
  }
  for (const Rule& rule : rules) {
    int r = seccomp_rule_add_array(filter.get(), SCMP_ACT_ALLOW, rule.nr,
                                   static_cast<unsigned>(rule.args.size()),
                                   rule.args.data());
    if (r < 0) {
      char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, rule.nr);
      absl::Status s = absl::InternalError(
          absl::StrCat("seccomp_rule_add ", name ? name : "?", " (", rule.why,
                       "): ", std::strerror(-r)));
      std::free(name);
      return s;
    }
  }
  // Without it an unprivileged process may not load a filter, and a
  // set-uid program it ran could gain privileges the filter does not expect.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return ErrnoError(errno, "prctl", "PR_SET_NO_NEW_PRIVS");
  }
  if (int r = seccomp_load(filter.get()); r < 0) {
    return ErrnoError(-r, "seccomp_load", "");
  }
  return absl::OkStatus();
#endif
}

}  // namespace chtools::sandbox
