#include "lib/record/printable.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_format.h"

namespace chtools::record {
namespace {

// Decodes the UTF-8 sequence at s[i]: its code point and length, or 0 if it
// is not a valid one (RFC 3629 table 3).
size_t Decode(absl::string_view s, size_t i, uint32_t* cp) {
  auto byte = [&](size_t k) -> uint8_t {
    return i + k < s.size() ? static_cast<uint8_t>(s[i + k]) : 0;
  };
  auto cont = [&](size_t k, uint8_t lo = 0x80, uint8_t hi = 0xbf) {
    return byte(k) >= lo && byte(k) <= hi && i + k < s.size();
  };
  uint8_t b0 = byte(0);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    if (!cont(1)) return 0;
    *cp = (b0 & 0x1fu) << 6 | (byte(1) & 0x3fu);
    return 2;
  }
  if (b0 >= 0xe0 && b0 <= 0xef) {
    // E0: no overlong forms; ED: no UTF-16 surrogates.
    uint8_t lo = b0 == 0xe0 ? 0xa0 : 0x80;
    uint8_t hi = b0 == 0xed ? 0x9f : 0xbf;
    if (!cont(1, lo, hi) || !cont(2)) return 0;
    *cp = (b0 & 0x0fu) << 12 | (byte(1) & 0x3fu) << 6 | (byte(2) & 0x3fu);
    return 3;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    // F0: no overlong forms; F4: nothing above U+10FFFF.
    uint8_t lo = b0 == 0xf0 ? 0x90 : 0x80;
    uint8_t hi = b0 == 0xf4 ? 0x8f : 0xbf;
    if (!cont(1, lo, hi) || !cont(2) || !cont(3)) return 0;
    *cp = (b0 & 0x07u) << 18 | (byte(1) & 0x3fu) << 12 |
          (byte(2) & 0x3fu) << 6 | (byte(3) & 0x3fu);
    return 4;
  }
  return 0;
}

// Code points that move the cursor or reorder text on a terminal although
// they are not C0/C1 controls.
bool IsFormatControl(uint32_t cp) {
  return cp == 0x061c || cp == 0x200e || cp == 0x200f || cp == 0x2028 ||
         cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

size_t FirstInvalidUtf8(absl::string_view s) {
  uint32_t cp;
  for (size_t i = 0; i < s.size();) {
    size_t n = Decode(s, i, &cp);
    if (n == 0) return i;
    i += n;
  }
  return absl::string_view::npos;
}

std::string Printable(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  uint32_t cp;
  for (size_t i = 0; i < s.size();) {
    size_t n = Decode(s, i, &cp);
    if (n == 0) {
      absl::StrAppendFormat(&out, "\\x%02x", static_cast<uint8_t>(s[i]));
      ++i;
      continue;
    }
    if (cp == '\\') {
      out += "\\\\";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || cp == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", cp);
    } else if ((cp >= 0x80 && cp <= 0x9f) || IsFormatControl(cp)) {
      absl::StrAppendFormat(&out, "\\u%04x", cp);
    } else {
      out.append(s.data() + i, n);
    }
    i += n;
  }
  return out;
}

size_t PrintableWidth(absl::string_view printable) {
  size_t width = 0;
  for (char c : printable) {
    // Count every byte that is not a UTF-8 continuation byte.
    if ((static_cast<uint8_t>(c) & 0xc0) != 0x80) ++width;
  }
  return width;
}

std::string PrintableCut(absl::string_view s, size_t max_bytes) {
  std::string out = Printable(s.substr(0, max_bytes));
  if (out.size() <= max_bytes && s.size() <= max_bytes) return out;
  size_t end = std::min(out.size(), max_bytes - 3);
  while (end > 0 && end < out.size() &&
         (static_cast<unsigned char>(out[end]) & 0xc0) == 0x80) {
    --end;
  }
  out.resize(end);
  out += "...";
  return out;
}

std::string ValidText(absl::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes && FirstInvalidUtf8(s) == absl::string_view::npos) {
    return std::string(s);
  }
  return PrintableCut(s, max_bytes);
}

}  // namespace chtools::record
