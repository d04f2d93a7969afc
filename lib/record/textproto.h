// Text-format record streams: parsing with errors that point at the line and
// column (and show them), and printing in the canonical form every tool emits.
#ifndef CHTOOLS_LIB_RECORD_TEXTPROTO_H_
#define CHTOOLS_LIB_RECORD_TEXTPROTO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "lib/record/records.pb.h"

namespace chtools::record {

// The two comment lines every records file starts with.
inline constexpr absl::string_view kRecordsHeader =
    "# proto-file: lib/record/records.proto\n"
    "# proto-message: chtools.Records\n";

// Parses a Records stream. Unknown fields and a non-repeated field given twice
// are errors. Errors: InvalidArgument whose message is
// "<source_name>:LINE:COL: message\n<offending line>\n<caret>" (1-based).
absl::StatusOr<Records> ParseRecords(absl::string_view text,
                                     absl::string_view source_name);

// The number of top-level messages in `text` (`vm { }`, and each element of
// `vm: [{ }, { }]`), counted with the tokenizer alone, without building
// them; counting stops once it passes `limit`. Malformed text is counted as
// far as it tokenizes (the parser reports it).
size_t CountTopLevelMessages(absl::string_view text, size_t limit);

// Reads `fd` to EOF (retrying EINTR) and parses it like ParseRecords. Does
// not close `fd`. Read errors name `source_name`.
absl::StatusOr<Records> ReadRecords(int fd, absl::string_view source_name);

// The canonical text of `records`: kRecordsHeader, then the fields as
// TextFormat::Printer prints them (2-space indent, enums by name; unknown
// fields left out, as FormatMessage does).
std::string FormatRecords(const Records& records);

// Writes FormatRecords(records) to `fd` completely (EINTR and short writes
// handled). Does not close `fd`.
absl::Status WriteRecords(int fd, const Records& records);

// Parses any message with the same rules and error style as ParseRecords;
// `out` is cleared first.
absl::Status ParseMessage(absl::string_view text, absl::string_view source_name,
                          google::protobuf::Message* out);

// `msg` printed by TextFormat::Printer, without a header. Unknown fields (a
// record decoded from binary written by a newer version) are left out, so
// the text always parses.
std::string FormatMessage(const google::protobuf::Message& msg);

}  // namespace chtools::record

#endif  // CHTOOLS_LIB_RECORD_TEXTPROTO_H_
