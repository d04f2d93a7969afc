#include "lib/cli/confined_stream.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/record/printable.h"
#include "lib/record/textproto.h"
#include "lib/sandbox/confined_call.h"
#include "lib/sandbox/groups.h"
#include "lib/sandbox/policy.h"

namespace chtools::cli {
namespace {

using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;

std::string Join(absl::string_view path, absl::string_view field) {
  return path.empty() ? std::string(field) : absl::StrCat(path, ".", field);
}

absl::Status CheckUtf8(absl::string_view value, absl::string_view path) {
  size_t bad = record::FirstInvalidUtf8(value);
  if (bad == absl::string_view::npos) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": is not valid UTF-8 (byte ", bad,
                   "): text fields must be UTF-8"));
}

// proto3 `string` fields must hold UTF-8 to be serialized and parsed back
// (the text parser does not check): the first one that does not, by path.
absl::Status AllTextIsUtf8(const Message& m, absl::string_view field_path) {
  const Reflection& r = *m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r.ListFields(m, &fields);
  std::string scratch;
  for (const FieldDescriptor* f : fields) {
    const bool is_string = f->type() == FieldDescriptor::TYPE_STRING;
    const bool is_message = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (!is_string && !is_message) continue;
    std::string path = Join(field_path, f->name());
    if (!f->is_repeated()) {
      RETURN_IF_ERROR(
          is_string ? CheckUtf8(r.GetStringReference(m, f, &scratch), path)
                    : AllTextIsUtf8(r.GetMessage(m, f), path));
      continue;
    }
    for (int i = 0, n = r.FieldSize(m, f); i < n; ++i) {
      std::string item = absl::StrCat(path, "[", i, "]");
      RETURN_IF_ERROR(
          is_string
              ? CheckUtf8(r.GetRepeatedStringReference(m, f, i, &scratch), item)
              : AllTextIsUtf8(r.GetRepeatedMessage(m, f, i), item));
    }
  }
  return absl::OkStatus();
}

// Reads `fd` to EOF into the heap, growing as needed. In the child every
// page written is copied from the parent first (a fault each): no large
// stack buffer, no more pages than the text needs.
absl::StatusOr<std::string> ReadText(int fd, absl::string_view name) {
  std::string text;
  size_t used = 0;
  while (true) {
    if (used == text.size()) text.resize(std::max<size_t>(4096, 2 * used));
    ssize_t n = ::read(fd, text.data() + used, text.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "read", name);
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
    // The cap ReadStream has (stream.h), with its message.
    if (used > kMaxStreamBytes) return StreamTooLarge(name);
  }
  text.resize(used);
  return text;
}

// In the child: the stream as binary protobuf.
absl::StatusOr<std::string> ParseInChild(int fd, absl::string_view name) {
  ASSIGN_OR_RETURN(std::string text, ReadText(fd, name));
  ASSIGN_OR_RETURN(Records records, ParseStreamText(text, name));
  if (absl::Status s = AllTextIsUtf8(records, ""); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", s.message()));
  }
  if (records.ByteSizeLong() > kMaxConfinedRecordsBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": more than ", kMaxConfinedRecordsBytes, " bytes of records"));
  }
  return records.SerializeAsString();
}

}  // namespace

absl::StatusOr<Records> ReadRecordsConfined(int fd, absl::string_view name) {
  sandbox::PolicyBuilder policy;
  // Memory, exit, futexes: any C++ program (the parser allocates).
  policy.Allow(sandbox::Group::kBasicProcess);
  // Read the stream from `fd`; write the records to the parent's pipe.
  policy.Allow(sandbox::Group::kReadWrite);
  const std::string what = absl::StrCat(name, ": record parser");
  ASSIGN_OR_RETURN(
      std::string wire,
      sandbox::RunConfined(what, policy, {fd}, kMaxConfinedRecordsBytes,
                           [&] { return ParseInChild(fd, name); }));
  // Untrusted but well-formed: the binary parser checks every length and
  // tag, and the size is bounded above.
  Records records;
  if (!records.ParseFromString(wire)) {
    return absl::InternalError(
        absl::StrCat(what, ": sent records that do not parse"));
  }
  return records;
}

Stdin ConfinedFromFd(int fd, bool is_tty) {
  Stdin in = FromFd(fd, is_tty);
  in.records = [fd, name = in.name] { return ReadRecordsConfined(fd, name); };
  return in;
}

}  // namespace chtools::cli
