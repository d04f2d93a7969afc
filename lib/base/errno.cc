#include "lib/base/errno.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace chtools {

absl::Status ErrnoError(int errnum, absl::string_view call,
                        absl::string_view path) {
  std::string message =
      path.empty() ? absl::StrCat(call, ": ", strerror(errnum))
                   : absl::StrCat(call, " ", path, ": ", strerror(errnum));
  return absl::Status(absl::ErrnoToStatusCode(errnum), message);
}

}  // namespace chtools
