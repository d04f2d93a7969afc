#include "lib/vm/boot_wait.h"

#include <poll.h>

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/base/errno.h"
#include "lib/record/printable.h"

namespace chtools::vm {
namespace {

// Sleeps up to `d` or until the process behind `pidfd` exits: true = exited.
bool SleepOnPidfd(int pidfd, absl::Duration d) {
  int ms = static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(d)));
  struct pollfd p = {pidfd, POLLIN, 0};
  int r = RetryEintr([&] { return ::poll(&p, pidfd >= 0 ? 1 : 0, ms); });
  return r > 0;
}

}  // namespace

absl::Status WaitRunning(chapi::Client& api, int pidfd, absl::Time deadline,
                         const std::function<absl::Time()>& now) {
  absl::Duration backoff = absl::Milliseconds(1);
  std::string last;
  while (true) {
    absl::StatusOr<nlohmann::json> info = api.Info();
    if (info.ok()) {
      // CH's answer is not trusted: nlohmann's value() aborts (no
      // exceptions) on a non-object or a non-string "state".
      if (!info->is_object() || !info->contains("state") ||
          !(*info)["state"].is_string()) {
        return absl::InternalError(
            absl::StrCat("vm.info: the answer has no string \"state\": ",
                         record::PrintableCut(info->dump(), 200)));
      }
      std::string state = (*info)["state"].get<std::string>();
      if (state == "Running") return absl::OkStatus();
      // Created: booting from the command line is under way.
      if (state != "Created") {
        return absl::FailedPreconditionError(
            absl::StrCat("cloud-hypervisor reports the VM as \"",
                         record::PrintableCut(state, 64), "\", not Running"));
      }
      last = "state Created";
    } else if (chapi::IsVmNotCreated(info.status()) ||
               absl::IsUnavailable(info.status())) {
      last = std::string(info.status().message());
    } else {
      return info.status();
    }
    absl::Time t = now();
    if (t >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "cloud-hypervisor did not run the VM in time (last answer: ", last,
          ")"));
    }
    if (SleepOnPidfd(pidfd, std::min(backoff, deadline - t))) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cloud-hypervisor exited before the VM was running (last answer: ",
          last, ")"));
    }
    backoff = std::min(backoff * 2, absl::Milliseconds(8));
  }
}

std::string ChErrorFromLog(absl::string_view log) {
  std::vector<absl::string_view> lines =
      absl::StrSplit(log, '\n', absl::SkipWhitespace());
  if (lines.empty()) return "";
  for (size_t i = lines.size(); i-- > 0;) {
    if (!absl::StartsWith(
            lines[i], "Error: Cloud Hypervisor exited with the following")) {
      continue;
    }
    std::vector<std::string> chain;
    for (size_t j = i + 1; j < lines.size(); ++j) {
      absl::string_view l = lines[j];
      if (l.empty() || (l[0] != ' ' && l[0] != '\t')) break;
      l = absl::StripAsciiWhitespace(l);
      // "N: text" in a chain of several.
      size_t colon = l.find(": ");
      if (colon != absl::string_view::npos && colon > 0 &&
          std::all_of(l.begin(), l.begin() + colon,
                      [](char c) { return absl::ascii_isdigit(c); })) {
        l.remove_prefix(colon + 2);
      }
      chain.emplace_back(l);
    }
    if (!chain.empty()) return absl::StrJoin(chain, ": ");
  }
  return std::string(absl::StripAsciiWhitespace(lines.back()));
}

}  // namespace chtools::vm
