#include "lib/cli/tool.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace chtools {
namespace {

std::string& MutableProgramName() {
  static auto* name = new std::string("chtools");
  return *name;
}

constexpr absl::string_view kUsagePayload = "chtools.usage";

// A flag the program defined (Abseil's own --flagfile etc. are left out).
// Flags are defined with underscores and may be typed with hyphens
// (--root-dir and --root_dir are the same flag).
absl::CommandLineFlag* FindUserFlag(absl::string_view typed) {
  std::string name(typed);
  std::replace(name.begin(), name.end(), '-', '_');
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  if (flag == nullptr || flag->IsRetired()) return nullptr;
  if (absl::StrContains(flag->Filename(), "absl/")) return nullptr;
  return flag;
}

void PrintHelp(absl::string_view usage) {
  std::string out(usage);
  if (!absl::EndsWith(out, "\n")) out += "\n";
  std::vector<absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (FindUserFlag(name) == flag) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](auto* a, auto* b) { return a->Name() < b->Name(); });
  if (!flags.empty()) absl::StrAppend(&out, "\nFlags:\n");
  for (const auto* flag : flags) {
    std::string name(flag->Name());
    std::replace(name.begin(), name.end(), '_', '-');
    absl::StrAppend(&out, "  --", name, "  ", flag->Help(), " (default: \"",
                    flag->DefaultValue(), "\")\n");
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

std::vector<std::string> InitTool(absl::string_view usage, int argc,
                                  char** argv) {
  if (argc > 0 && argv[0] != nullptr) {
    absl::string_view arg0(argv[0]);
    size_t slash = arg0.rfind('/');
    if (slash != absl::string_view::npos) arg0.remove_prefix(slash + 1);
    MutableProgramName() = std::string(arg0);
  }
  absl::SetProgramUsageMessage(usage);

  // Flags are parsed here over Abseil's registry rather than with
  // absl::ParseCommandLine, which exits 1 (not 2) on a bad flag and prints the
  // whole flag table. GNU style: flags and positionals may mix; "--" ends
  // flags; "-" is a positional (stdin).
  std::vector<std::string> args;
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg(argv[i]);
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      args.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help" || arg == "-help") {
      PrintHelp(usage);
      std::exit(kExitOk);
    }
    absl::string_view body = arg.substr(arg[1] == '-' ? 2 : 1);
    absl::string_view name = body;
    absl::optional<absl::string_view> value;
    if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
    }
    absl::CommandLineFlag* flag = FindUserFlag(name);
    bool negated = false;
    if (flag == nullptr && absl::StartsWith(name, "no") && !value) {
      flag = FindUserFlag(name.substr(2));
      negated = flag != nullptr && flag->IsOfType<bool>();
      if (!negated) flag = nullptr;
    }
    if (flag == nullptr) {
      std::exit(UsageError(absl::StrCat("unknown flag: ", arg)));
    }
    std::string v;
    if (value) {
      v = std::string(*value);
    } else if (flag->IsOfType<bool>()) {
      v = negated ? "false" : "true";
    } else if (i + 1 < argc) {
      v = argv[++i];
    } else {
      std::exit(UsageError(absl::StrCat("flag --", name, " needs a value")));
    }
    std::string error;
    if (!flag->ParseFrom(v, &error)) {
      std::exit(UsageError(absl::StrCat("--", name, "=", v, ": ", error)));
    }
  }
  return args;
}

const std::string& ProgramName() { return MutableProgramName(); }

void PrintError(absl::string_view message) {
  std::string line = absl::StrCat(ProgramName(), ": ", message, "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

absl::Status UsageStatus(absl::string_view message) {
  absl::Status s = absl::InvalidArgumentError(message);
  s.SetPayload(kUsagePayload, absl::Cord("1"));
  return s;
}

bool IsUsageStatus(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

int ExitCode(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (IsUsageStatus(status)) return UsageError(status.message());
  PrintError(status.message());
  return kExitFailed;
}

int UsageError(absl::string_view message) {
  PrintError(absl::StrCat(message, " (see --help)"));
  return kExitUsage;
}

}  // namespace chtools
