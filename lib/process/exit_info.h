// ExitInfo: how a process ended, as a value: exited(code) or signaled(sig).
#ifndef CHTOOLS_LIB_PROCESS_EXIT_INFO_H_
#define CHTOOLS_LIB_PROCESS_EXIT_INFO_H_

#include <signal.h>

#include <ostream>
#include <string>

namespace chtools::process {

class ExitInfo {
 public:
  // A process that called exit(code) (code is 0..255).
  static ExitInfo Exited(int code) { return ExitInfo(true, code); }
  // A process killed by signal `sig`.
  static ExitInfo Signaled(int sig) { return ExitInfo(false, sig); }
  // From a waitid(2) siginfo_t with si_code CLD_EXITED, CLD_KILLED or
  // CLD_DUMPED (anything else is reported as Signaled(si_status)).
  static ExitInfo FromSiginfo(const siginfo_t& info);

  bool exited() const { return exited_; }
  bool signaled() const { return !exited_; }
  // The exit code; 0 when signaled().
  int code() const { return exited_ ? value_ : 0; }
  // The signal number; 0 when exited().
  int signal() const { return exited_ ? 0 : value_; }
  // The shell convention: the exit code, or 128 + signal.
  int ToExitCode() const { return exited_ ? value_ : 128 + value_; }
  // "exited with code 3" / "killed by signal 9 (SIGKILL)".
  std::string ToString() const;

  bool operator==(const ExitInfo& other) const {
    return exited_ == other.exited_ && value_ == other.value_;
  }
  bool operator!=(const ExitInfo& other) const { return !(*this == other); }

 private:
  ExitInfo(bool exited, int value) : exited_(exited), value_(value) {}

  bool exited_;
  int value_;
};

// For GoogleTest and logs.
inline void PrintTo(const ExitInfo& e, std::ostream* os) {
  *os << e.ToString();
}

}  // namespace chtools::process

#endif  // CHTOOLS_LIB_PROCESS_EXIT_INFO_H_
