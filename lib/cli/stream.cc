#include "lib/cli/stream.h"

#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/cli/tool.h"
#include "lib/fs/io.h"
#include "lib/record/ids.h"
#include "lib/record/printable.h"
#include "lib/record/textproto.h"

namespace chtools::cli {
namespace {

// A ref from a stream names a record the index or store could hold:
// anything else is refused before it is echoed (unbounded, unescaped) in a
// "not found" line; the value is shown escaped and cut.
absl::Status BadRef(const Stdin& in, absl::string_view kind, int i,
                    absl::string_view field, absl::string_view value,
                    absl::string_view rule) {
  std::string shown = record::Printable(value.substr(0, kMaxShownRef));
  if (value.size() > kMaxShownRef) absl::StrAppend(&shown, "...");
  return absl::InvalidArgumentError(
      absl::StrCat(in.name, ": ", kind, "[", i, "].", field, ": \"", shown,
                   "\" (", value.size(), " bytes) is not ", rule));
}

}  // namespace

absl::StatusOr<bool> WantsStream(absl::string_view verb,
                                 const std::vector<std::string>& args,
                                 const Stdin& in) {
  if (args.size() == 1 && args[0] == "-") return true;
  for (const std::string& a : args) {
    if (a == "-") {
      return UsageStatus(
          absl::StrCat(verb, ": \"-\" (stdin) cannot be mixed with refs"));
    }
  }
  return args.empty() && !in.is_tty;
}

Stdin FromFd(int fd, bool is_tty) {
  return Stdin{.read = [fd]() -> absl::StatusOr<std::string> {
                 absl::StatusOr<std::string> text =
                     fs::ReadAll(fd, "<stdin>", kMaxStreamBytes);
                 if (absl::IsOutOfRange(text.status())) {
                   return StreamTooLarge("<stdin>");
                 }
                 return text;
               },
               .is_tty = is_tty};
}

Stdin FromText(std::string text) {
  return Stdin{.read = [text] { return absl::StatusOr<std::string>(text); }};
}

absl::Status StreamTooLarge(absl::string_view name) {
  return absl::InvalidArgumentError(
      absl::StrCat(name, ": record stream larger than ", kMaxStreamBytes >> 20,
                   " MiB: split it"));
}

absl::StatusOr<Records> ParseStreamText(absl::string_view text,
                                        absl::string_view name) {
  // Counted before parsing: an empty record costs hundreds of bytes once
  // built, so 64 MiB of `vm {}` would take gigabytes.
  if (record::CountTopLevelMessages(text, kMaxStreamRecords) >
      kMaxStreamRecords) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": more than ", kMaxStreamRecords,
                     " records in one stream: split it"));
  }
  return record::ParseRecords(text, name);
}

absl::StatusOr<Records> ReadStream(const Stdin& in) {
  if (in.records) return in.records();
  if (!in.read) return absl::InternalError("no stdin reader");
  ASSIGN_OR_RETURN(std::string text, in.read());
  return ParseStreamText(text, in.name);
}

absl::StatusOr<std::vector<std::string>> RefsOrStream(
    absl::string_view verb, const std::vector<std::string>& args,
    const Stdin& in) {
  ASSIGN_OR_RETURN(bool stream, WantsStream(verb, args, in));
  if (!stream) {
    if (args.empty()) {
      return UsageStatus(absl::StrCat(verb,
                                      " needs VM refs (id, name or id prefix) "
                                      "or a record stream on stdin"));
    }
    return args;
  }
  ASSIGN_OR_RETURN(Records records, ReadStream(in));
  std::vector<std::string> refs;
  for (int i = 0; i < records.vm_size(); ++i) {
    const Vm& vm = records.vm(i);
    if (!vm.id().empty()) {
      if (!record::IsValidId(vm.id())) {
        return BadRef(in, "vm", i, "id", vm.id(),
                      "an id (16 lowercase hex characters)");
      }
      refs.push_back(vm.id());
    } else if (!vm.config().name().empty()) {
      if (!record::IsValidName(vm.config().name())) {
        return BadRef(in, "vm", i, "config.name", vm.config().name(),
                      "a valid name");
      }
      refs.push_back(vm.config().name());
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          in.name, ": vm[", i, "] has neither an id nor a config.name"));
    }
  }
  return refs;
}

absl::StatusOr<std::vector<std::string>> SnapshotRefs(const Records& records,
                                                      const Stdin& in) {
  std::vector<std::string> refs;
  for (int i = 0; i < records.snapshot_size(); ++i) {
    const Snapshot& s = records.snapshot(i);
    if (!s.id().empty()) {
      if (!record::IsValidId(s.id())) {
        return BadRef(in, "snapshot", i, "id", s.id(),
                      "an id (16 lowercase hex characters)");
      }
      refs.push_back(s.id());
    } else if (!s.name().empty()) {
      if (!record::IsValidName(s.name())) {
        return BadRef(in, "snapshot", i, "name", s.name(), "a valid name");
      }
      refs.push_back(s.name());
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          in.name, ": snapshot[", i, "] has neither an id nor a name"));
    }
  }
  return refs;
}

}  // namespace chtools::cli
