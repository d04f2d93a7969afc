#include "lib/cli/output.h"

#include <sys/sendfile.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/errno.h"
#include "lib/cli/tool.h"
#include "lib/fs/io.h"
#include "lib/record/printable.h"
#include "lib/record/textproto.h"

namespace chtools::cli {

std::string VmError(absl::string_view name, absl::string_view op,
                    const absl::Status& status) {
  if (absl::StartsWith(status.message(), "vm \""))
    return std::string(status.message());
  // The name may come from a record not yet validated (create's stream):
  // shown escaped and cut, so a hostile one neither floods nor controls
  // the terminal.
  constexpr size_t kMaxShown = 80;
  std::string shown = record::Printable(name.substr(0, kMaxShown));
  if (name.size() > kMaxShown) absl::StrAppend(&shown, "...");
  return absl::StrCat("vm \"", shown, "\": ", op, ": ", status.message());
}

absl::Status Sink::Write(absl::string_view data) {
  return fs::WriteAll(fd_, data, name_);
}

absl::Status Sink::CopyFrom(int in, absl::string_view in_name) {
  while (true) {
    ssize_t n = ::sendfile(fd_, in, nullptr, size_t{1} << 30);
    if (n > 0) continue;
    if (n == 0) return absl::OkStatus();
    if (errno == EINTR) continue;
    if (errno != EINVAL && errno != ENOSYS)
      return ErrnoError(errno, "sendfile", name_);
    break;  // not a sendfile pair: plain reads and writes
  }
  char buf[1 << 16];
  while (true) {
    ssize_t n = RetryEintr([&] { return ::read(in, buf, sizeof(buf)); });
    if (n < 0) return ErrnoError(errno, "read", in_name);
    if (n == 0) return absl::OkStatus();
    absl::Status s = Write(absl::string_view(buf, static_cast<size_t>(n)));
    if (!s.ok()) return s;
  }
}

int Finish(const Batch& batch, Sink& sink, Format format) {
  for (const std::string& e : batch.errors) PrintError(e);
  absl::Status w;
  if (!batch.text.empty()) {
    w = sink.Write(absl::StrJoin(batch.text, "\n") + "\n");
  } else if (batch.out.ByteSizeLong() > 0) {
    absl::StatusOr<std::string> text = FormatOutput(batch.out, format);
    w = text.ok() ? sink.Write(*text) : text.status();
  }
  if (!w.ok()) return ExitCode(w);
  return batch.errors.empty() ? kExitOk : kExitFailed;
}

}  // namespace chtools::cli
