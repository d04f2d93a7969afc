#include "lib/archive/ram_size.h"

#include "absl/strings/str_cat.h"
#include "lib/archive/sparse_map.h"
#include "nlohmann/json.hpp"

namespace chtools::archive {
namespace {

using Json = nlohmann::json;

absl::Status Bad(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("state.json: ", path, ": ", what));
}

// The member `key` of `j`, or null if `j` is not an object or lacks it. Never
// operator[]: built without exceptions, nlohmann aborts on a type mismatch.
const Json* Member(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

}  // namespace

absl::StatusOr<uint64_t> RamBytesFromState(absl::string_view state_json) {
  const Json outer = Json::parse(state_json.begin(), state_json.end(),
                                 /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (outer.is_discarded()) return Bad("(document)", "not valid JSON");
  const Json* snapshots = Member(outer, "snapshots");
  const Json* mm =
      snapshots != nullptr ? Member(*snapshots, "memory-manager") : nullptr;
  if (mm == nullptr) {
    return Bad("snapshots.memory-manager", "missing: no memory manager state");
  }
  const Json* data = Member(*mm, "snapshot_data");
  const Json* state = data != nullptr ? Member(*data, "state") : nullptr;
  if (state == nullptr || !state->is_string()) {
    return Bad("snapshots.memory-manager.snapshot_data.state",
               "missing or not a string");
  }
  const std::string& inner_text = state->get_ref<const std::string&>();
  const Json inner = Json::parse(inner_text, /*cb=*/nullptr,
                                 /*allow_exceptions=*/false);
  constexpr absl::string_view kInner =
      "snapshots.memory-manager.snapshot_data.state";
  if (inner.is_discarded()) return Bad(kInner, "not valid JSON");
  const Json* ranges = Member(inner, "memory_ranges");
  const Json* table = ranges != nullptr ? Member(*ranges, "data") : nullptr;
  if (table == nullptr || !table->is_array()) {
    return Bad(absl::StrCat(kInner, " memory_ranges.data"),
               "missing or not an array");
  }
  uint64_t total = 0;
  for (size_t i = 0; i < table->size(); ++i) {
    const Json* length = Member((*table)[i], "length");
    if (length == nullptr || !length->is_number_unsigned()) {
      return Bad(absl::StrCat(kInner, " memory_ranges.data[", i, "].length"),
                 "missing or not an unsigned integer");
    }
    std::optional<uint64_t> sum = CheckedAdd(total, length->get<uint64_t>());
    if (!sum.has_value()) {
      return Bad(absl::StrCat(kInner, " memory_ranges.data"),
                 "the lengths add up to more than 2^64 bytes");
    }
    total = *sum;
  }
  return total;
}

}  // namespace chtools::archive
