// The key=value option grammar of Cloud Hypervisor v51 (option_parser crate):
// comma splitting outside [] and "", on/off toggles, K/M/G sizes, int lists.
#ifndef CHTOOLS_INTEGRATION_SIM_KV_PARSER_H_
#define CHTOOLS_INTEGRATION_SIM_KV_PARSER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chtools::sim {

// Splits on commas outside [...] and "..." (the whole string is trimmed first,
// the items are not: "a=1, b=2" yields the key " b").
std::vector<std::string> SplitOptions(absl::string_view s);

// One option string parsed against a fixed key set.
class KvOptions {
 public:
  // `keys` need a value; `valueless` are bare keys (console "pty", "off").
  KvOptions(std::set<std::string> keys, std::set<std::string> valueless = {});

  // InvalidArgument "unknown option: <key>" for an unknown key or a missing
  // '=' on a key that needs a value. A repeated key: the last one wins.
  absl::Status Parse(absl::string_view s);

  // True if the key appeared at all (even as "key=").
  bool Has(const std::string& key) const { return values_.count(key) > 0; }
  // True if the key was given (valueless keys) or has a non-empty value.
  bool Is(const std::string& key) const;
  // The trimmed value with '"' removed; nullopt when absent or empty.
  std::optional<std::string> Get(const std::string& key) const;
  // Toggle: on/off/true/false (case-insensitive); empty/absent -> nullopt.
  // Error "unable to convert <v> for <key>".
  absl::StatusOr<std::optional<bool>> GetBool(const std::string& key) const;
  absl::StatusOr<std::optional<uint64_t>> GetU64(const std::string& key) const;
  // ByteSized: decimal with optional K/M/G (uppercase, powers of 1024).
  absl::StatusOr<std::optional<uint64_t>> GetSize(const std::string& key) const;
  // IntegerList "[0,2,4-7]".
  absl::StatusOr<std::optional<std::vector<uint64_t>>> GetList(
      const std::string& key) const;

 private:
  std::set<std::string> keys_;
  std::set<std::string> valueless_;
  std::map<std::string, std::string> values_;
};

// Pure converters used by KvOptions (exposed for tests).
std::optional<bool> ParseToggle(absl::string_view v);
std::optional<uint64_t> ParseByteSize(absl::string_view v);
std::optional<std::vector<uint64_t>> ParseIntList(absl::string_view v);
// Tuple list "[a@[list],b@[list]]" -> pairs (used by affinity and
// queue_affinity); nullopt on a syntax error.
std::optional<std::vector<std::pair<uint64_t, std::vector<uint64_t>>>>
ParseTupleList(absl::string_view v);

}  // namespace chtools::sim

#endif  // CHTOOLS_INTEGRATION_SIM_KV_PARSER_H_
