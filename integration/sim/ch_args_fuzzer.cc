// Fuzz target: the CH command line and kernel command line builders
// (lib/launch/ch_command.h, kernel_cmdline.h) against CH v51's own parsing as
// the simulator models it (cli.h, vm_config.h). For any VM record that
// validation accepts (decoded from the binary wire format), what the
// builders emit must be a command line CH accepts: clap parsing, the
// per-option key=value parsers, and VmConfig::validate. A record that passes
// validation but makes a command CH refuses is a bug in one of the three.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "google/protobuf/stubs/logging.h"
#include "integration/sim/cli.h"
#include "integration/sim/vm_config.h"
#include "lib/launch/ch_command.h"
#include "lib/launch/kernel_cmdline.h"
#include "lib/record/records.pb.h"
#include "lib/record/validate.h"
#include "lib/testing/fuzz/check.h"
#include "lib/vm/paths.h"

// The wire-format decoder logs every string field with invalid UTF-8 that it
// refuses: a refusal is the expected outcome here, and the log would slow
// the fuzzer down by an order of magnitude.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  chtools::Vm vm;
  if (!vm.ParseFromArray(data, static_cast<int>(size))) return 0;
  if (!chtools::record::ValidateVm(vm, "vm").ok()) return 0;
  if (chtools::launch::IsDirectBoot(vm)) {
    absl::StatusOr<std::string> cmdline =
        chtools::launch::BuildKernelCmdline(vm, {"1.1.1.1", "8.8.8.8"});
    if (!cmdline.ok()) return 0;
    vm.mutable_boot()->set_cmdline(*cmdline);
  }
  const std::string run = "/var/lib/chtools/run/" + vm.id();
  chtools::launch::HostFacts host;
  host.cpus = 256;
  absl::StatusOr<std::vector<std::string>> args = chtools::launch::BuildChArgs(
      vm, chtools::vm::PathsIn(run, "/var/log/chtools/" + vm.id()), host);
  if (!args.ok()) return 0;
  const std::string shown = absl::StrJoin(*args, "\n  ");
  absl::StatusOr<chtools::sim::CliArgs> cli =
      chtools::sim::ParseCommandLine(*args);
  FUZZ_CHECK(cli.ok(), "CH's CLI refuses the command: ", cli.status().message(),
             "\nargs:\n  ", shown);
  absl::StatusOr<chtools::sim::Json> config =
      chtools::sim::VmConfigFromCli(cli->values);
  FUZZ_CHECK(config.ok(),
             "CH cannot build a VmConfig: ", config.status().message(),
             "\nargs:\n  ", shown);
  absl::Status valid = chtools::sim::ValidateVmConfig(*config);
  FUZZ_CHECK(valid.ok(), "CH's VmConfig::validate refuses: ", valid.message(),
             "\nargs:\n  ", shown);
  return 0;
}
