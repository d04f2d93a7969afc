// The escape sequence of an interactive console session: the escape
// character (default ^]) followed by '.' disconnects, by '?' prints help, by
// itself sends it once. Pure.
#ifndef CHTOOLS_TOOLS_CH_CONSOLE_ESCAPE_H_
#define CHTOOLS_TOOLS_CH_CONSOLE_ESCAPE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ch_console {

// "^]" style (^ followed by @.._ or a..z) or one literal byte. NUL, CR, LF,
// DEL and bytes >= 0x80 are refused (InvalidArgument naming the value).
absl::StatusOr<char> ParseEscapeChar(absl::string_view text);

// "^]" for 0x1d; a printable byte as itself.
std::string EscapeCharName(char c);

class EscapeFilter {
 public:
  enum class Action { kNone, kDisconnect, kHelp };
  explicit EscapeFilter(char escape) : escape_(escape) {}

  // Feeds bytes typed by the user. Appends what must go to the console to
  // `to_console` and stops at the first action (consumed bytes in *used).
  Action Feed(absl::string_view in, std::string* to_console, size_t* used);

 private:
  char escape_;
  bool pending_ = false;  // the escape char was the last byte seen
};

// The help text printed for escape + '?' (with \r\n line ends: raw mode).
std::string EscapeHelp(char escape);

}  // namespace ch_console

#endif  // CHTOOLS_TOOLS_CH_CONSOLE_ESCAPE_H_
