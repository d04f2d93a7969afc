// Test fixtures for running the CH simulator
// (//integration/sim:cloud-hypervisor): start it in a short socket directory,
// optionally inside a network namespace, talk to it with lib/chapi, and build
// the files a VM needs.
#ifndef CHTOOLS_INTEGRATION_SIM_SIM_FIXTURE_H_
#define CHTOOLS_INTEGRATION_SIM_SIM_FIXTURE_H_

#include <sys/types.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/base/unique_fd.h"
#include "lib/chapi/client.h"
#include "lib/chapi/fake_server.h"
#include "lib/chapi/unix_http.h"
#include "lib/process/spawn.h"
#include "nlohmann/json.hpp"

namespace chtools::conformance {

// Absolute path of the simulator binary in the test's runfiles.
std::string SimBinary();

struct SimOptions {
  std::vector<std::string> args;       // after --api-socket <dir>/api.sock
  std::vector<std::string> extra_env;  // "CHSIM_...=1", added to ours
  std::string netns_path;              // run it in this netns
  bool api_socket = true;              // pass --api-socket
  bool wait = true;                    // wait for the API socket
};

// One simulator process. Its stdout/stderr go to <dir>/out and <dir>/err.
class Sim {
 public:
  // Starts the simulator; with options.wait, returns once the API socket
  // accepts (or fails if the process exits first).
  static absl::StatusOr<std::unique_ptr<Sim>> Start(SimOptions options = {});
  ~Sim();  // SIGKILLs the process if still running

  const std::string& dir() const { return dir_.path(); }
  std::string Join(absl::string_view name) const { return dir_.Join(name); }
  const std::string& api_socket() const { return api_socket_; }
  chapi::Client& client() { return *client_; }
  process::Child& child() { return child_; }
  // Waits up to `timeout` for the process to exit; nullopt if still running.
  std::optional<process::ExitInfo> WaitExit(
      absl::Duration timeout = absl::Seconds(10));
  // Polls vm.info until the VM is Running. A VM given on the command line
  // is created and booted only after the socket accepts (CH's window, widened
  // by CHSIM_BOOT_DELAY_MS), so tests that start one call this first.
  // DeadlineExceeded after `timeout`; a transport error (the simulator
  // exited, e.g. a failed boot) is returned as is, with its stderr.
  absl::Status WaitRunning(absl::Duration timeout = absl::Seconds(10));
  std::string Stderr() const;
  std::string Stdout() const;

  // One raw request, for checks of exact status codes, headers and bodies.
  absl::StatusOr<chapi::HttpResponse> Raw(
      absl::string_view method, absl::string_view endpoint,
      absl::string_view body = "", absl::Duration timeout = absl::Seconds(10));

 private:
  Sim(process::Child child, std::unique_ptr<chapi::testing::SocketDir> dir);
  std::unique_ptr<chapi::testing::SocketDir> owned_dir_;
  const chapi::testing::SocketDir& dir_;
  std::string api_socket_;
  process::Child child_;
  std::unique_ptr<chapi::Client> client_;
};

// Runs the simulator to completion with `args` (no API socket added).
absl::StatusOr<process::CommandResult> RunSim(
    const std::vector<std::string>& args,
    absl::Duration timeout = absl::Seconds(20));

// A network namespace held open by a sleeping process made with `unshare -n`
// (works inside Bazel's sandbox as root). path() is /proc/<pid>/ns/net.
class ScratchNetns {
 public:
  static absl::StatusOr<std::unique_ptr<ScratchNetns>> Create();
  const std::string& path() const { return path_; }
  // Runs `argv` inside the namespace.
  absl::StatusOr<process::CommandResult> Run(
      const std::vector<std::string>& argv);
  // Creates a single-queue tap `name` inside the namespace; Internal error
  // with ip's stderr if that fails.
  absl::Status AddTap(const std::string& name);

 private:
  explicit ScratchNetns(process::Child holder);
  process::Child holder_;
  std::string path_;
};

// Files a VM needs: a kernel, raw disks (with a 512-byte+ body), etc.
void WriteFile(const std::string& path, absl::string_view content);
std::string ReadFile(const std::string& path);
void MakeRawDisk(const std::string& path, size_t size = 1 << 20);

// A bootable direct-boot VmConfig: 1 vCPU, `memory_bytes` of RAM, kernel
// <dir>/vmlinux, one raw disk <dir>/disk0.raw, console `console_mode`,
// serial Null.
nlohmann::json BootableConfig(const std::string& dir,
                              absl::string_view console_mode = "Off",
                              int64_t memory_bytes = 64 << 20);

// A connected AF_UNIX stream socket (invalid fd + a test failure if not).
UniqueFd ConnectUnix(const std::string& path);
// Reads until `needle` shows up (never, if empty), EOF, or `timeout`;
// returns what was read; *eof tells whether the peer closed.
std::string ReadUntil(int fd, absl::string_view needle, absl::Duration timeout,
                      bool* eof = nullptr);
// Writes `line` and reads the answer up to `until` (10 s at most).
std::string Converse(int fd, absl::string_view line, absl::string_view until);

// The tap names that `pid`'s /dev/net/tun fds are attached to (fdinfo
// "iff:"), one entry per queue fd.
std::multiset<std::string> TunAttachments(pid_t pid);

// The readlink of /proc/<pid>/ns/net ("net:[4026531840]").
std::string NetnsId(const std::string& proc_ns_path);

}  // namespace chtools::conformance

#endif  // CHTOOLS_INTEGRATION_SIM_SIM_FIXTURE_H_
