// Fuzz target: record validation (validate.h) on arbitrary records, decoded
// from the binary wire format so the fuzzer reaches field values directly.
// Validation never crashes; records it accepts print and parse back intact,
// but for unknown fields, which printing leaves out (text format is how every
// tool passes them on).
#include <cstddef>
#include <cstdint>

#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "lib/record/textproto.h"
#include "lib/record/validate.h"
#include "lib/testing/fuzz/check.h"

// The wire-format decoder logs every string field with invalid UTF-8 that it
// refuses: a refusal is the expected outcome here, and the log would slow
// the fuzzer down by an order of magnitude.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  chtools::Records records;
  if (!records.ParseFromArray(data, static_cast<int>(size))) return 0;
  absl::Status valid = chtools::record::ValidateRecords(records);
  for (int i = 0; i < records.vm_size(); ++i) {
    (void)chtools::record::ValidateVm(records.vm(i), "vm");
  }
  for (int i = 0; i < records.snapshot_size(); ++i) {
    (void)chtools::record::ValidateSnapshot(records.snapshot(i), "snapshot");
  }
  if (!valid.ok()) return 0;
  // Printing leaves out fields this version does not know; all else stays.
  records.DiscardUnknownFields();
  std::string printed = chtools::record::FormatRecords(records);
  absl::StatusOr<chtools::Records> again =
      chtools::record::ParseRecords(printed, "<printed>");
  FUZZ_CHECK(again.ok(),
             "valid records do not parse back: ", again.status().ToString(),
             "\n", printed);
  FUZZ_CHECK(
      google::protobuf::util::MessageDifferencer::Equals(records, *again),
      "valid records changed in a print/parse round trip:\n", printed);
  return 0;
}
