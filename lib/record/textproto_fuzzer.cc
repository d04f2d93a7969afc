// Fuzz target: the text-format record reader (textproto.h). Any input either
// parses or fails with an error that names the source and a position; what
// parses prints in the canonical form and parses back to the same records;
// validation (validate.h) of what parses never crashes.
#include <cstddef>
#include <cstdint>

#include "absl/strings/match.h"
#include "google/protobuf/util/message_differencer.h"
#include "lib/record/textproto.h"
#include "lib/record/validate.h"
#include "lib/testing/fuzz/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<chtools::Records> records =
      chtools::record::ParseRecords(text, "<fuzz>");
  if (!records.ok()) {
    FUZZ_CHECK(absl::StartsWith(records.status().message(), "<fuzz>:"),
               "error does not name the source: ", records.status().ToString());
    return 0;
  }
  std::string printed = chtools::record::FormatRecords(*records);
  absl::StatusOr<chtools::Records> again =
      chtools::record::ParseRecords(printed, "<printed>");
  FUZZ_CHECK(again.ok(),
             "printed records do not parse: ", again.status().ToString(), "\n",
             printed);
  FUZZ_CHECK(
      google::protobuf::util::MessageDifferencer::Equals(*records, *again),
      "records changed in a print/parse round trip:\n", printed);
  (void)chtools::record::ValidateRecords(*records);
  return 0;
}
