// clap rules of CH v51; see cli.h.
#include "integration/sim/cli.h"

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace chtools::sim {
namespace {

enum class Arity { kFlag, kOne, kMany };
enum class Group { kPayload, kVmConfig, kVmm, kLogging, kOther };

struct OptionSpec {
  Arity arity;
  Group group;
};

const std::map<std::string, OptionSpec>& Options() {
  static const auto* m = new std::map<std::string, OptionSpec>{
      {"api-socket", {Arity::kOne, Group::kVmm}},
      {"restore", {Arity::kOne, Group::kVmm}},
      {"event-monitor", {Arity::kOne, Group::kVmm}},
      {"kernel", {Arity::kOne, Group::kPayload}},
      {"firmware", {Arity::kOne, Group::kPayload}},
      {"log-file", {Arity::kOne, Group::kLogging}},
      {"seccomp", {Arity::kOne, Group::kOther}},
      {"cpus", {Arity::kOne, Group::kVmConfig}},
      {"platform", {Arity::kOne, Group::kVmConfig}},
      {"memory", {Arity::kOne, Group::kVmConfig}},
      {"cmdline", {Arity::kOne, Group::kVmConfig}},
      {"initramfs", {Arity::kOne, Group::kVmConfig}},
      {"rng", {Arity::kOne, Group::kVmConfig}},
      {"balloon", {Arity::kOne, Group::kVmConfig}},
      {"serial", {Arity::kOne, Group::kVmConfig}},
      {"console", {Arity::kOne, Group::kVmConfig}},
      {"debug-console", {Arity::kOne, Group::kVmConfig}},
      {"vsock", {Arity::kOne, Group::kVmConfig}},
      {"tpm", {Arity::kOne, Group::kVmConfig}},
      {"watchdog", {Arity::kFlag, Group::kVmConfig}},
      {"pvpanic", {Arity::kFlag, Group::kVmConfig}},
      {"landlock", {Arity::kFlag, Group::kVmConfig}},
      {"disk", {Arity::kMany, Group::kVmConfig}},
      {"net", {Arity::kMany, Group::kVmConfig}},
      {"fs", {Arity::kMany, Group::kVmConfig}},
      {"pmem", {Arity::kMany, Group::kVmConfig}},
      {"device", {Arity::kMany, Group::kVmConfig}},
      {"user-device", {Arity::kMany, Group::kVmConfig}},
      {"vdpa", {Arity::kMany, Group::kVmConfig}},
      {"numa", {Arity::kMany, Group::kVmConfig}},
      {"memory-zone", {Arity::kMany, Group::kVmConfig}},
      {"rate-limit-group", {Arity::kMany, Group::kVmConfig}},
      {"pci-segment", {Arity::kMany, Group::kVmConfig}},
      {"landlock-rules", {Arity::kMany, Group::kVmConfig}},
  };
  return *m;
}

constexpr char kUsage[] =
    "\n\nUsage: cloud-hypervisor [OPTIONS]\n\nFor more information, try "
    "'--help'.\n";

std::string ArgName(const std::string& name, Arity a) {
  if (a == Arity::kFlag) return "--" + name;
  return absl::StrCat("--", name, " <", name, ">",
                      a == Arity::kMany ? "..." : "");
}

absl::Status Usage(const std::string& msg) {
  return absl::InvalidArgumentError(absl::StrCat("error: ", msg, kUsage));
}

}  // namespace

absl::StatusOr<CliArgs> ParseCommandLine(const std::vector<std::string>& args) {
  CliArgs out;
  std::map<std::string, bool> seen;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      out.help = true;
      continue;
    }
    if (a == "-V" || a == "--version") {
      out.version = true;
      continue;
    }
    if (a.size() >= 2 && a[0] == '-' && a[1] == 'v') {
      bool all_v = true;
      for (size_t k = 1; k < a.size(); ++k) all_v &= a[k] == 'v';
      if (all_v) {
        out.verbosity += static_cast<int>(a.size() - 1);
        continue;
      }
    }
    if (!absl::StartsWith(a, "--")) {
      return Usage(absl::StrCat("unexpected argument '", a, "' found"));
    }
    std::string name = a.substr(2);
    std::optional<std::string> inline_value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto it = Options().find(name);
    if (it == Options().end()) {
      return Usage(absl::StrCat("unexpected argument '--", name, "' found"));
    }
    const OptionSpec& spec = it->second;
    if (seen[name]) {
      return Usage(absl::StrCat("the argument '", ArgName(name, spec.arity),
                                "' cannot be used multiple times"));
    }
    seen[name] = true;
    std::vector<std::string>& vals = out.values[name];
    if (spec.arity == Arity::kFlag) {
      if (inline_value) {
        return Usage(absl::StrCat("unexpected value '", *inline_value,
                                  "' for '--", name,
                                  "' found; no more were expected"));
      }
      continue;
    }
    if (inline_value) {
      vals.push_back(*inline_value);
    } else {
      while (i + 1 < args.size() && !absl::StartsWith(args[i + 1], "-")) {
        vals.push_back(args[++i]);
        if (spec.arity == Arity::kOne) break;
      }
    }
    if (vals.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "error: a value is required for '", ArgName(name, spec.arity),
          "' but none was supplied\n\nFor more information, try '--help'.\n"));
    }
    if (name == "seccomp" && vals[0] != "true" && vals[0] != "false" &&
        vals[0] != "log") {
      return absl::InvalidArgumentError(
          absl::StrCat("error: invalid value '", vals[0],
                       "' for '--seccomp <seccomp>'\n  [possible values: true, "
                       "false, log]\n\n"
                       "For more information, try '--help'.\n"));
    }
  }
  if (out.help || out.version) return out;
  bool payload = out.values.count("kernel") || out.values.count("firmware");
  if (!payload) {
    for (const auto& [name, vals] : out.values) {
      if (Options().at(name).group == Group::kVmConfig) {
        return Usage(
            "the following required arguments were not provided:\n"
            "  <--kernel <kernel>|--firmware <firmware>>");
      }
    }
  }
  return out;
}

std::string HelpText() {
  std::string out =
      "Launch a cloud-hypervisor VMM (simulator of v51.0 for tests).\n\n"
      "Usage: cloud-hypervisor [OPTIONS]\n\nOptions:\n";
  for (const auto& [name, spec] : Options()) {
    absl::StrAppend(&out, "      ", ArgName(name, spec.arity), "\n");
  }
  absl::StrAppend(&out,
                  "  -v...\n          Sets the level of debugging output\n"
                  "  -h, --help\n          Print help\n"
                  "  -V, --version\n          Print version\n");
  return out;
}

}  // namespace chtools::sim
