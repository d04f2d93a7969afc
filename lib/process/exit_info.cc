#include "lib/process/exit_info.h"

#include <string.h>

#include "absl/strings/str_cat.h"

namespace chtools::process {

ExitInfo ExitInfo::FromSiginfo(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return Exited(info.si_status);
  return Signaled(info.si_status);
}

std::string ExitInfo::ToString() const {
  if (exited_) return absl::StrCat("exited with code ", value_);
  const char* abbrev = sigabbrev_np(value_);
  if (abbrev == nullptr) return absl::StrCat("killed by signal ", value_);
  return absl::StrCat("killed by signal ", value_, " (SIG", abbrev, ")");
}

}  // namespace chtools::process
