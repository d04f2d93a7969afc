// vm-index output formats: text proto (the pipeline format), an aligned table
// for people, and JSON (protobuf's canonical mapping, proto field names).
#ifndef CHTOOLS_TOOLS_VM_INDEX_OUTPUT_H_
#define CHTOOLS_TOOLS_VM_INDEX_OUTPUT_H_

#include <string>

#include "absl/status/statusor.h"
#include "lib/record/records.pb.h"
#include "tools/vm-index/vm_index.h"

namespace vm_index {

// `records` in `format`. Table: one row per vm (ID NAME STATE CPU MEMORY
// STORAGE IMAGE), then one per finding (KIND VM PATH REPAIRED DETAIL).
absl::StatusOr<std::string> FormatOutput(const chtools::Records& records,
                                         Format format);

// 1073741824 -> "1G", 536870912 -> "512M", 1610612736 -> "1.5G".
std::string HumanBytes(int64_t bytes);

}  // namespace vm_index

#endif  // CHTOOLS_TOOLS_VM_INDEX_OUTPUT_H_
