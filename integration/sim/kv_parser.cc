// CH v51 option_parser semantics; see kv_parser.h.
#include "integration/sim/kv_parser.h"

#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace chtools::sim {

std::vector<std::string> SplitOptions(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  bool quoted = false;
  for (char c : s) {
    if (c == '"') quoted = !quoted;
    if (!quoted && c == '[') ++depth;
    if (!quoted && c == ']' && depth > 0) --depth;
    if (c == ',' && depth == 0 && !quoted) {
      out.push_back(cur);
      cur.clear();
      continue;
    }
    cur.push_back(c);
  }
  out.push_back(cur);
  return out;
}

KvOptions::KvOptions(std::set<std::string> keys,
                     std::set<std::string> valueless)
    : keys_(std::move(keys)), valueless_(std::move(valueless)) {}

absl::Status KvOptions::Parse(absl::string_view s) {
  if (absl::StripAsciiWhitespace(s).empty()) return absl::OkStatus();
  for (const std::string& item : SplitOptions(s)) {
    std::vector<std::string> parts =
        absl::StrSplit(item, absl::MaxSplits('=', 1));
    const std::string& key = parts[0];
    if (valueless_.count(key)) {
      values_[key] = "";
      continue;
    }
    if (!keys_.count(key) || parts.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option: ", key));
    }
    std::string v(absl::StripAsciiWhitespace(parts[1]));
    values_[key] = absl::StrReplaceAll(v, {{"\"", ""}});
  }
  return absl::OkStatus();
}

bool KvOptions::Is(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) return false;
  return valueless_.count(key) || !it->second.empty();
}

std::optional<std::string> KvOptions::Get(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

static absl::Status ConvError(const std::string& v, const std::string& key) {
  return absl::InvalidArgumentError(
      absl::StrCat("unable to convert ", v, " for ", key));
}

absl::StatusOr<std::optional<bool>> KvOptions::GetBool(
    const std::string& key) const {
  std::optional<std::string> v = Get(key);
  if (!v) return std::optional<bool>();
  std::optional<bool> b = ParseToggle(*v);
  if (!b) return ConvError(*v, key);
  return b;
}

absl::StatusOr<std::optional<uint64_t>> KvOptions::GetU64(
    const std::string& key) const {
  std::optional<std::string> v = Get(key);
  if (!v) return std::optional<uint64_t>();
  uint64_t n;
  if (v->empty() || (*v)[0] == '+' || !absl::SimpleAtoi(*v, &n)) {
    return ConvError(*v, key);
  }
  return std::optional<uint64_t>(n);
}

absl::StatusOr<std::optional<uint64_t>> KvOptions::GetSize(
    const std::string& key) const {
  std::optional<std::string> v = Get(key);
  if (!v) return std::optional<uint64_t>();
  std::optional<uint64_t> n = ParseByteSize(*v);
  if (!n) return ConvError(*v, key);
  return n;
}

absl::StatusOr<std::optional<std::vector<uint64_t>>> KvOptions::GetList(
    const std::string& key) const {
  std::optional<std::string> v = Get(key);
  if (!v) return std::optional<std::vector<uint64_t>>();
  auto l = ParseIntList(*v);
  if (!l) return ConvError(*v, key);
  return l;
}

std::optional<bool> ParseToggle(absl::string_view v) {
  std::string l = absl::AsciiStrToLower(v);
  if (l == "on" || l == "true") return true;
  if (l == "off" || l == "false") return false;
  return std::nullopt;
}

static bool ParseDecimal(absl::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return absl::SimpleAtoi(s, out);
}

std::optional<uint64_t> ParseByteSize(absl::string_view v) {
  uint64_t shift = 0;
  if (!v.empty()) {
    switch (v.back()) {
      case 'K':
        shift = 10;
        break;
      case 'M':
        shift = 20;
        break;
      case 'G':
        shift = 30;
        break;
      default:
        break;
    }
    if (shift) v.remove_suffix(1);
  }
  uint64_t n;
  if (!ParseDecimal(v, &n)) return std::nullopt;
  if (shift && n > (std::numeric_limits<uint64_t>::max() >> shift)) {
    return std::nullopt;
  }
  return n << shift;
}

std::optional<std::vector<uint64_t>> ParseIntList(absl::string_view v) {
  if (!absl::ConsumePrefix(&v, "[") || !absl::ConsumeSuffix(&v, "]")) {
    return std::nullopt;
  }
  std::vector<uint64_t> out;
  for (absl::string_view item : absl::StrSplit(v, ',')) {
    std::vector<absl::string_view> range = absl::StrSplit(item, '-');
    uint64_t a, b;
    if (range.size() == 1) {
      if (!ParseDecimal(range[0], &a)) return std::nullopt;
      out.push_back(a);
    } else if (range.size() == 2) {
      if (!ParseDecimal(range[0], &a) || !ParseDecimal(range[1], &b) ||
          a >= b) {
        return std::nullopt;
      }
      for (uint64_t i = a; i <= b; ++i) out.push_back(i);
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<std::vector<std::pair<uint64_t, std::vector<uint64_t>>>>
ParseTupleList(absl::string_view v) {
  if (!absl::ConsumePrefix(&v, "[") || !absl::ConsumeSuffix(&v, "]")) {
    return std::nullopt;
  }
  std::vector<std::pair<uint64_t, std::vector<uint64_t>>> out;
  // Items are "n@[list]" separated by commas outside brackets.
  for (const std::string& item : SplitOptions(v)) {
    std::vector<std::string> kv = absl::StrSplit(item, absl::MaxSplits('@', 1));
    uint64_t k;
    if (kv.size() != 2 || !ParseDecimal(kv[0], &k)) return std::nullopt;
    auto list = ParseIntList(kv[1]);
    if (!list) return std::nullopt;
    out.emplace_back(k, *list);
  }
  return out;
}

}  // namespace chtools::sim
