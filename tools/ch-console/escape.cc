#include "tools/ch-console/escape.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ch_console {

absl::StatusOr<char> ParseEscapeChar(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("--escape-char=", text, ": ", why));
  };
  unsigned char c;
  if (text.size() == 2 && text[0] == '^') {
    unsigned char x = static_cast<unsigned char>(text[1]);
    if (x >= 'a' && x <= 'z') x = static_cast<unsigned char>(x - 'a' + 'A');
    if (x < '@' || x > '_') return bad("expected ^@ .. ^_ or ^a .. ^z");
    c = static_cast<unsigned char>(x - '@');
  } else if (text.size() == 1) {
    c = static_cast<unsigned char>(text[0]);
  } else {
    return bad("expected one character or ^X");
  }
  if (c == 0 || c == '\r' || c == '\n' || c == 0x7f || c >= 0x80) {
    return bad("NUL, CR, LF, DEL and non-ASCII bytes cannot be the escape");
  }
  return static_cast<char>(c);
}

std::string EscapeCharName(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u < 0x20) return std::string("^") + static_cast<char>(u + '@');
  return std::string(1, c);
}

EscapeFilter::Action EscapeFilter::Feed(absl::string_view in,
                                        std::string* to_console, size_t* used) {
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (pending_) {
      pending_ = false;
      if (c == '.') {
        *used = i + 1;
        return Action::kDisconnect;
      }
      if (c == '?') {
        *used = i + 1;
        return Action::kHelp;
      }
      to_console->push_back(escape_);
      if (c != escape_) to_console->push_back(c);
      continue;
    }
    if (c == escape_) {
      pending_ = true;
      continue;
    }
    to_console->push_back(c);
  }
  *used = in.size();
  return Action::kNone;
}

std::string EscapeHelp(char escape) {
  std::string e = EscapeCharName(escape);
  return absl::StrCat("\r\nSupported escape sequences:\r\n  ", e,
                      ".  disconnect\r\n  ", e, "?  this help\r\n  ", e, e,
                      "  send the escape character\r\n");
}

}  // namespace ch_console
