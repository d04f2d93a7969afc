#include "lib/archive/handles.h"

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace chtools::archive {

absl::Status ArchiveError(struct archive* a, absl::StatusCode code,
                          absl::string_view call, absl::string_view entry) {
  const char* text = a != nullptr ? archive_error_string(a) : nullptr;
  absl::string_view why = text != nullptr ? text : "unknown libarchive error";
  // An I/O errno from the system says more than the caller's guess;
  // libarchive reports format errors as EILSEQ/EINVAL/-1, which keep `code`.
  const int err = a != nullptr ? archive_errno(a) : 0;
  switch (err) {
    case EIO:
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
    case EPIPE:
    case EBADF:
    case EACCES:
    case EPERM:
    case ENOMEM:
      code = absl::ErrnoToStatusCode(err);
      break;
    default:
      break;
  }
  if (entry.empty()) return absl::Status(code, absl::StrCat(call, ": ", why));
  return absl::Status(code, absl::StrCat(call, " \"", entry, "\": ", why));
}

}  // namespace chtools::archive
