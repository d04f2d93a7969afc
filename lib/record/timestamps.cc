#include "lib/record/timestamps.h"

#include "absl/strings/str_cat.h"
#include "re2/re2.h"

namespace chtools::record {

std::string FormatTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E9SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseTime(absl::string_view s) {
  // absl::ParseTime is lenient (spaces, out-of-range fields normalised);
  // check the RFC 3339 shape first so only real RFC 3339 strings pass.
  static const re2::RE2 kShape(
      R"(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2}))");
  absl::Time t;
  std::string err;
  if (!re2::RE2::FullMatch(re2::StringPiece(s.data(), s.size()), kShape) ||
      !absl::ParseTime(absl::RFC3339_full, s, &t, &err)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", s, "\" is not an RFC 3339 time (like 2026-11-27T19:13:04Z)"));
  }
  return t;
}

}  // namespace chtools::record
