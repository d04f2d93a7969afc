#include "lib/cli/stream.h"

#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/cli/tool.h"
#include "lib/fs/io.h"
#include "lib/record/textproto.h"

namespace chtools::cli {

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
  return Stdin{.read = [fd] { return fs::ReadAll(fd, "<stdin>"); },
               .is_tty = is_tty};
}

Stdin FromText(std::string text) {
  return Stdin{.read = [text] { return absl::StatusOr<std::string>(text); }};
}

absl::StatusOr<Records> ReadStream(const Stdin& in) {
  if (in.records) return in.records();
  if (!in.read) return absl::InternalError("no stdin reader");
  ASSIGN_OR_RETURN(std::string text, in.read());
  return record::ParseRecords(text, in.name);
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
      refs.push_back(vm.id());
    } else if (!vm.config().name().empty()) {
      refs.push_back(vm.config().name());
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          in.name, ": vm[", i, "] has neither an id nor a config.name"));
    }
  }
  return refs;
}

}  // namespace chtools::cli
