// Env: what every VM operation works with: the settings, the host facts, the
// registry, and the three things tests replace with fakes: the CH API client
// factory, the runner of helper programs (mkfs.ext4, qemu-img) and the clock.
#ifndef CHTOOLS_LIB_VM_ENV_H_
#define CHTOOLS_LIB_VM_ENV_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/chapi/client.h"
#include "lib/index/index.h"
#include "lib/launch/ch_command.h"
#include "lib/process/spawn.h"
#include "lib/record/records.pb.h"

namespace chtools::vm {

using ApiFactory = std::function<std::unique_ptr<chapi::Client>(
    const std::string& api_socket, absl::Duration timeout)>;
using CommandRunner = std::function<absl::StatusOr<process::CommandResult>(
    const std::vector<std::string>& argv, absl::Duration timeout)>;

// The real CH API client.
inline std::unique_ptr<chapi::Client> RealApi(const std::string& api_socket,
                                              absl::Duration timeout) {
  return std::make_unique<chapi::Client>(api_socket, timeout);
}

// Runs argv to completion (lib/process RunCommand).
inline absl::StatusOr<process::CommandResult> RealRunner(
    const std::vector<std::string>& argv, absl::Duration timeout) {
  return process::RunCommand(argv, timeout);
}

struct Env {
  ToolConfig config;
  launch::HostFacts host;
  index::Index* index = nullptr;  // not owned
  ApiFactory api = RealApi;
  CommandRunner run = RealRunner;
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

}  // namespace chtools::vm

#endif  // CHTOOLS_LIB_VM_ENV_H_
