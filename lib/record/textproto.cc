#include "lib/record/textproto.h"

#include <unistd.h>

#include <cerrno>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/fs/io.h"
#include "lib/record/printable.h"

namespace chtools::record {
namespace {

// Keeps the first error the parser reports; the parser stops there anyway,
// and later errors are usually consequences of the first.
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (has_error_) return;
    has_error_ = true;
    line_ = line;
    column_ = column;
    message_ = message;
  }
  void AddWarning(int, int, const std::string&) override {}

  bool has_error() const { return has_error_; }
  int line() const { return line_; }
  int column() const { return column_; }
  const std::string& message() const { return message_; }

 private:
  bool has_error_ = false;
  int line_ = 0;
  int column_ = 0;
  std::string message_;
};

// The tokenizer counts a tab as advancing to the next multiple of 8; map its
// column back to a byte offset in the line so the caret lands under the
// offending character.
size_t ColumnToOffset(absl::string_view line, int column) {
  int col = 0;
  size_t i = 0;
  for (; i < line.size() && col < column; ++i) {
    col = line[i] == '\t' ? col + 8 - col % 8 : col + 1;
  }
  return i;
}

class IgnoreErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int, int, const std::string&) override {}
};

struct Position {
  int line;
  int column;
};

// A tokenizer over `text` set up as TextFormat::Parser sets up its own
// (# comments, numbers followed by letters, multi-line strings), errors
// ignored: used to find positions in text the parser has judged.
struct TextTokenizer {
  explicit TextTokenizer(absl::string_view text)
      : input(text.data(), static_cast<int>(text.size())),
        tokenizer(&input, &ignore) {
    tokenizer.set_comment_style(
        google::protobuf::io::Tokenizer::SH_COMMENT_STYLE);
    tokenizer.set_require_space_after_number(false);
    tokenizer.set_allow_multiline_strings(true);
  }
  google::protobuf::io::ArrayInputStream input;
  IgnoreErrors ignore;
  google::protobuf::io::Tokenizer tokenizer;
};

// TextFormat::Parser reports most errors at the token *after* the offending
// one (it has already consumed the field name or value when it notices), so
// "no field named \"colour\"" would point at the ':' after colour. When the
// message quotes the token before the reported one, point at that token.
Position OffendingToken(absl::string_view text, const FirstErrorCollector& e) {
  TextTokenizer tok(text);
  google::protobuf::io::Tokenizer& tokenizer = tok.tokenizer;
  auto quoted = [&](const std::string& token) {
    return absl::StrContains(e.message(), absl::StrCat("\"", token, "\"")) ||
           absl::StrContains(e.message(), absl::StrCat("(", token, ")"));
  };
  Position reported{e.line(), e.column()};
  bool have_previous = false;
  google::protobuf::io::Tokenizer::Token previous;
  while (tokenizer.Next()) {
    const auto& tok = tokenizer.current();
    if (tok.line > e.line() ||
        (tok.line == e.line() && tok.column >= e.column())) {
      if (tok.line == e.line() && tok.column == e.column() &&
          quoted(tok.text)) {
        return reported;
      }
      break;
    }
    previous = tok;
    have_previous = true;
  }
  if (have_previous && quoted(previous.text)) {
    return Position{previous.line, previous.column};
  }
  return reported;
}

// Printable(s), but with tabs kept as they are.
std::string ShowKeepingTabs(absl::string_view s) {
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(s, '\t')) {
    parts.push_back(Printable(part));
  }
  return absl::StrJoin(parts, "\t");
}

absl::Status RenderError(absl::string_view text, absl::string_view source_name,
                         const FirstErrorCollector& errors) {
  Position pos = OffendingToken(text, errors);
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  absl::string_view line;
  if (pos.line >= 0 && static_cast<size_t>(pos.line) < lines.size()) {
    line = lines[pos.line];
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t offset = ColumnToOffset(line, pos.column);
  // A line of a hostile stream can be megabytes long (`vm { vm { ...` on one
  // line): show a window of it around the offending token, cut at UTF-8
  // character starts.
  constexpr size_t kContext = 80;
  auto char_start = [&](size_t i) {
    while (i > 0 && i < line.size() &&
           (static_cast<unsigned char>(line[i]) & 0xc0) == 0x80) {
      --i;
    }
    return i;
  };
  size_t from = offset > kContext ? char_start(offset - kContext) : 0;
  size_t to = line.size() - offset > kContext ? char_start(offset + kContext)
                                              : line.size();
  // The line goes to a terminal: control characters escaped, except tabs,
  // which the caret line repeats so that it lines up under the same tab
  // stops; one space per character before the offending token.
  std::string before = absl::StrCat(
      from > 0 ? "..." : "", ShowKeepingTabs(line.substr(from, offset - from)));
  std::string shown =
      absl::StrCat(before, ShowKeepingTabs(line.substr(offset, to - offset)),
                   to < line.size() ? "..." : "");
  std::string caret;
  for (char c : before) {
    if (c == '\t') {
      caret += '\t';
    } else if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) {
      caret += ' ';
    }
  }
  caret += '^';
  std::string message = errors.message();
  // At EOF the tokenizer's current token is empty: "Expected X, got: ".
  if (absl::EndsWith(message, ": ")) message += "end of input";
  return absl::InvalidArgumentError(absl::StrCat(source_name, ":", pos.line + 1,
                                                 ":", offset + 1, ": ", message,
                                                 "\n", shown, "\n", caret));
}

}  // namespace

absl::Status ParseMessage(absl::string_view text, absl::string_view source_name,
                          google::protobuf::Message* out) {
  out->Clear();
  if (text.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ": input larger than 2 GiB"));
  }
  FirstErrorCollector errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  google::protobuf::io::ArrayInputStream input(text.data(),
                                               static_cast<int>(text.size()));
  if (!parser.Parse(&input, out) || errors.has_error()) {
    out->Clear();
    if (!errors.has_error()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source_name, ": cannot parse as ", out->GetTypeName()));
    }
    return RenderError(text, source_name, errors);
  }
  return absl::OkStatus();
}

absl::StatusOr<Records> ParseRecords(absl::string_view text,
                                     absl::string_view source_name) {
  Records records;
  RETURN_IF_ERROR(ParseMessage(text, source_name, &records));
  return records;
}

size_t CountTopLevelMessages(absl::string_view text, size_t limit) {
  if (text.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return limit + 1;
  }
  TextTokenizer tok(text);
  google::protobuf::io::Tokenizer& tokenizer = tok.tokenizer;
  size_t count = 0;
  int depth = 0;  // of messages; list brackets do not count
  while (count <= limit && tokenizer.Next()) {
    const auto& tok = tokenizer.current();
    if (tok.type != google::protobuf::io::Tokenizer::TYPE_SYMBOL) continue;
    if (tok.text == "{" || tok.text == "<") {
      if (depth == 0) ++count;
      ++depth;
    } else if ((tok.text == "}" || tok.text == ">") && depth > 0) {
      --depth;
    }
  }
  return count;
}

absl::StatusOr<Records> ReadRecords(int fd, absl::string_view source_name) {
  ASSIGN_OR_RETURN(std::string text, fs::ReadAll(fd, source_name));
  return ParseRecords(text, source_name);
}

std::string FormatMessage(const google::protobuf::Message& msg) {
  google::protobuf::TextFormat::Printer printer;
  // Fields this version does not know (a record file written by a newer
  // one) would print as "14: 98", which no reader accepts: what a tool
  // prints must always parse (found by validate_fuzzer).
  printer.SetHideUnknownFields(true);
  std::string out;
  printer.PrintToString(msg, &out);
  return out;
}

std::string FormatRecords(const Records& records) {
  return absl::StrCat(kRecordsHeader, FormatMessage(records));
}

absl::Status WriteRecords(int fd, const Records& records) {
  return fs::WriteAll(fd, FormatRecords(records), "<stdout>");
}

}  // namespace chtools::record
