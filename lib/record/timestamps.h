// Timestamps in records: RFC 3339 in UTC with nanoseconds, readable in the
// text form and sortable as strings.
#ifndef CHTOOLS_LIB_RECORD_TIMESTAMPS_H_
#define CHTOOLS_LIB_RECORD_TIMESTAMPS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace chtools::record {

// "2026-11-27T19:13:04.123456789Z": always UTC, always 9 fraction digits.
// Call it qualified (record::FormatTime): absl::FormatTime(Time) is found by
// argument-dependent lookup and makes an unqualified call ambiguous.
std::string FormatTime(absl::Time t);

// Parses any RFC 3339 time ("Z" or a numeric offset, any number of fraction
// digits). InvalidArgument naming the input otherwise.
absl::StatusOr<absl::Time> ParseTime(absl::string_view s);

}  // namespace chtools::record

#endif  // CHTOOLS_LIB_RECORD_TIMESTAMPS_H_
