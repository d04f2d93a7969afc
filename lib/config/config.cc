#include "lib/config/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/io.h"
#include "lib/record/ids.h"
#include "lib/record/textproto.h"

ABSL_FLAG(std::string, root_dir, "",
          "Persistent data: the VM index and the snapshot store "
          "(env CHTOOLS_ROOT_DIR; default /var/lib/chtools).");
ABSL_FLAG(std::string, run_dir, "",
          "Per-VM runtime dirs: sockets, pid files, COW disks "
          "(env CHTOOLS_RUN_DIR; default <root-dir>/run).");
ABSL_FLAG(std::string, log_dir, "",
          "Per-VM Cloud Hypervisor logs "
          "(env CHTOOLS_LOG_DIR; default /var/log/chtools).");
ABSL_FLAG(std::string, ch_binary, "",
          "Cloud Hypervisor binary, a path or a name looked up in PATH "
          "(env CHTOOLS_CH_BINARY; default cloud-hypervisor).");
ABSL_FLAG(std::string, config, "",
          "Text-format chtools.ToolConfig file "
          "(env CHTOOLS_CONFIG; default /etc/chtools/config.txtpb, may be "
          "missing).");

ABSL_FLAG(
    bool, no_seccomp, false,
    "Debugging: do not load the seccomp policy (env CHTOOLS_NO_SECCOMP=1; "
    "config file no_seccomp).");

namespace chtools::config {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// Reads the config file. `explicit_path` says whether the user named it (a
// missing default file is fine; a missing named one is an error).
absl::Status MergeFile(const std::string& path, bool explicit_path,
                       ToolConfig* config) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT && !explicit_path) return absl::OkStatus();
    return ErrnoError(errno, "config file", path);
  }
  ASSIGN_OR_RETURN(std::string text, fs::ReadAll(fd.get(), path));
  ToolConfig file;
  RETURN_IF_ERROR(record::ParseMessage(text, path, &file));
  // proto3 scalars have no presence: a zero/empty value means "not set here".
  if (!file.dns().empty()) config->clear_dns();
  config->MergeFrom(file);
  return absl::OkStatus();
}

// Overrides `field` with the first non-empty of flag and env.
void Override(std::string* field, const std::string& flag,
              const char* env_name) {
  if (!flag.empty()) {
    *field = flag;
    return;
  }
  std::string env = Env(env_name);
  if (!env.empty()) *field = env;
}

absl::Status CheckDir(std::string* dir, absl::string_view key) {
  if (dir->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(key, " must not be empty"));
  }
  if ((*dir)[0] != '/') {
    std::error_code ec;
    std::filesystem::path abs = std::filesystem::absolute(*dir, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, " \"", *dir, "\": ", ec.message()));
    }
    *dir = abs.lexically_normal().string();
  }
  while (dir->size() > 1 && dir->back() == '/') dir->pop_back();
  return absl::OkStatus();
}

bool IsIpAddress(const std::string& s) {
  return record::IsIpv4(s) || record::IsIpv6(s);
}

}  // namespace

absl::StatusOr<ToolConfig> LoadToolConfig() {
  ToolConfig config;
  config.set_log_dir(std::string(kDefaultLogDir));
  config.set_ch_binary(std::string(kDefaultChBinary));
  config.set_stop_timeout_seconds(30);
  config.set_terminate_grace_seconds(5);
  config.set_socket_wait_seconds(5);
  config.add_dns("8.8.8.8");
  config.add_dns("1.1.1.1");

  std::string path = absl::GetFlag(FLAGS_config);
  if (path.empty()) path = Env("CHTOOLS_CONFIG");
  bool explicit_path = !path.empty();
  if (!explicit_path) path = std::string(kDefaultConfigPath);
  RETURN_IF_ERROR(MergeFile(path, explicit_path, &config));

  Override(config.mutable_root_dir(), absl::GetFlag(FLAGS_root_dir),
           "CHTOOLS_ROOT_DIR");
  Override(config.mutable_run_dir(), absl::GetFlag(FLAGS_run_dir),
           "CHTOOLS_RUN_DIR");
  Override(config.mutable_log_dir(), absl::GetFlag(FLAGS_log_dir),
           "CHTOOLS_LOG_DIR");
  Override(config.mutable_ch_binary(), absl::GetFlag(FLAGS_ch_binary),
           "CHTOOLS_CH_BINARY");

  if (absl::GetFlag(FLAGS_no_seccomp)) {
    config.set_no_seccomp(true);
  } else if (std::string env = Env("CHTOOLS_NO_SECCOMP"); !env.empty()) {
    if (env == "1" || env == "true") {
      config.set_no_seccomp(true);
    } else if (env == "0" || env == "false") {
      config.set_no_seccomp(false);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "CHTOOLS_NO_SECCOMP: \"", env, "\": expected 1, true, 0 or false"));
    }
  }

  if (config.root_dir().empty())
    config.set_root_dir(std::string(kDefaultRootDir));
  RETURN_IF_ERROR(CheckDir(config.mutable_root_dir(), "root_dir"));
  // The run dir follows the root unless given: a test or demo that points
  // --root-dir at a temporary dir then keeps everything under it.
  if (config.run_dir().empty()) {
    config.set_run_dir(absl::StrCat(config.root_dir(), "/run"));
  }
  RETURN_IF_ERROR(CheckDir(config.mutable_run_dir(), "run_dir"));
  RETURN_IF_ERROR(CheckDir(config.mutable_log_dir(), "log_dir"));
  if (config.ch_binary().empty()) {
    return absl::InvalidArgumentError("ch_binary must not be empty");
  }
  if (config.stop_timeout_seconds() <= 0 ||
      config.terminate_grace_seconds() <= 0 ||
      config.socket_wait_seconds() <= 0) {
    const char* key =
        config.stop_timeout_seconds() <= 0      ? "stop_timeout_seconds"
        : config.terminate_grace_seconds() <= 0 ? "terminate_grace_seconds"
                                                : "socket_wait_seconds";
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", key, " must be at least 1"));
  }
  for (const std::string& dns : config.dns()) {
    if (!IsIpAddress(dns)) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": dns: \"", dns, "\" is not an IPv4 or IPv6 address"));
    }
  }
  return config;
}

}  // namespace chtools::config
