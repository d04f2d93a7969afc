// Global settings of every chtools program (ToolConfig): root, run and log
// dirs, the CH binary, timeouts, DNS; from flags, CHTOOLS_* environment
// variables, a text-format config file and defaults, in that precedence.
#ifndef CHTOOLS_LIB_CONFIG_CONFIG_H_
#define CHTOOLS_LIB_CONFIG_CONFIG_H_

#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/record/records.pb.h"

// Defined once in config.cc; an empty value means "not given on the command
// line". Typed with hyphens by users (--root-dir).
ABSL_DECLARE_FLAG(std::string, root_dir);
ABSL_DECLARE_FLAG(std::string, run_dir);
ABSL_DECLARE_FLAG(std::string, log_dir);
ABSL_DECLARE_FLAG(std::string, ch_binary);
ABSL_DECLARE_FLAG(std::string, config);
ABSL_DECLARE_FLAG(bool, no_seccomp);

namespace chtools::config {

inline constexpr absl::string_view kDefaultConfigPath =
    "/etc/chtools/config.txtpb";
inline constexpr absl::string_view kDefaultRootDir = "/var/lib/chtools";
inline constexpr absl::string_view kDefaultLogDir = "/var/log/chtools";
inline constexpr absl::string_view kDefaultChBinary = "cloud-hypervisor";

// Builds the effective ToolConfig. For each setting the first source that
// gives it wins: flag (--root-dir, --run-dir, --log-dir, --ch-binary) > env
// (CHTOOLS_ROOT_DIR, CHTOOLS_RUN_DIR, CHTOOLS_LOG_DIR, CHTOOLS_CH_BINARY) >
// config file > defaults (/var/lib/chtools, <root_dir>/run, /var/log/chtools,
// "cloud-hypervisor", stop 30 s, grace 5 s, socket wait 5 s, dns 8.8.8.8,
// 1.1.1.1). no_seccomp: --no-seccomp, else CHTOOLS_NO_SECCOMP (1/true or
// 0/false), else the file's no_seccomp, else false. The file is --config, else
// $CHTOOLS_CONFIG, else /etc/chtools/config.txtpb; only that default may be
// missing. Relative dirs are made absolute against the working directory.
// Errors: NotFound (named config file missing), InvalidArgument (file does
// not parse, "<path>:LINE:COL: ..."; or a bad value, naming its source).
absl::StatusOr<ToolConfig> LoadToolConfig();

}  // namespace chtools::config

#endif  // CHTOOLS_LIB_CONFIG_CONFIG_H_
