// Output formats of every tool: text proto (the pipeline format), an aligned
// table for people (cells escaped), and JSON (protobuf's canonical mapping,
// proto field names).
#ifndef CHTOOLS_LIB_CLI_FORMAT_H_
#define CHTOOLS_LIB_CLI_FORMAT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/record/records.pb.h"

namespace chtools::cli {

enum class Format { kTextproto, kTable, kJson };

// "textproto" | "table" | "json". InvalidArgument naming --format otherwise.
absl::StatusOr<Format> ParseFormat(absl::string_view s);

// `records` in `format`. Table: one row per vm (ID NAME STATE CPU MEMORY
// STORAGE IMAGE), per snapshot (ID NAME VM CREATED CPU MEMORY DESCRIPTION),
// per finding (KIND VM PATH REPAIRED DETAIL).
absl::StatusOr<std::string> FormatOutput(const chtools::Records& records,
                                         Format format);

// 1073741824 -> "1G", 536870912 -> "512M", 1610612736 -> "1.5G".
std::string HumanBytes(int64_t bytes);

}  // namespace chtools::cli

#endif  // CHTOOLS_LIB_CLI_FORMAT_H_
