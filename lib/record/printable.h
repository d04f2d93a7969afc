// Record text made safe to show to a person: control characters escaped so
// that a crafted field can neither forge lines of a table nor send escape
// sequences to the terminal.
#ifndef CHTOOLS_LIB_RECORD_PRINTABLE_H_
#define CHTOOLS_LIB_RECORD_PRINTABLE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace chtools::record {

// The offset of the first byte of `s` that does not start a valid UTF-8
// sequence (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF), or absl::string_view::npos if `s` is valid UTF-8.
size_t FirstInvalidUtf8(absl::string_view s);

// `s` with `\` as `\\`, newline, carriage return and tab as `\n`, `\r`, `\t`,
// every other C0 control and DEL as `\xNN`, C1 controls (U+0080..U+009F),
// line/paragraph separators and bidirectional overrides as `\uNNNN`, and
// bytes that are not valid UTF-8 as `\xNN`. Other UTF-8 text is kept.
std::string Printable(absl::string_view s);

// Printable(s) cut to at most `max_bytes` bytes (max_bytes >= 3) at a
// character boundary, ending in "..." when cut: for text from an untrusted
// peer (CH's answers, its log) that goes into a message or a record field.
std::string PrintableCut(absl::string_view s, size_t max_bytes);

// `s` itself if it is valid UTF-8 of at most `max_bytes` bytes, else
// PrintableCut(s, max_bytes): for a record's text field (which must be
// UTF-8 and within its bound) holding a message that may quote a peer.
std::string ValidText(absl::string_view s, size_t max_bytes);

// The number of terminal columns Printable(s) takes, counting one per code
// point (wide characters count one: good enough for aligning columns).
size_t PrintableWidth(absl::string_view printable);

}  // namespace chtools::record

#endif  // CHTOOLS_LIB_RECORD_PRINTABLE_H_
