#include "lib/vm/disks.h"

#include <fcntl.h>
#include <unistd.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/files.h"
#include "lib/launch/cidata.h"
#include "lib/launch/fat12.h"
#include "lib/process/spawn.h"
#include "nlohmann/json.hpp"

namespace chtools::vm {
namespace {

using process::CommandResult;

// Runs argv; Internal "<what>: <combined output>: <exit>" unless it exits 0.
absl::StatusOr<CommandResult> Run(const Env& env, absl::string_view what,
                                  std::vector<std::string> argv) {
  ASSIGN_OR_RETURN(argv[0], fs::FindProgram(argv[0]));
  ASSIGN_OR_RETURN(CommandResult r, env.run(argv, absl::Minutes(2)));
  if (!r.exit.exited() || r.exit.code() != 0) {
    std::string out = std::string(absl::StripAsciiWhitespace(r.err + r.out));
    return absl::InternalError(absl::StrCat(
        what, ": ", out.empty() ? "" : out + ": ", r.exit.ToString()));
  }
  return r;
}

}  // namespace

absl::Status MakeCowRaw(const Env& env, const std::string& path,
                        int64_t size_bytes) {
  chtools::UniqueFd fd(chtools::RetryEintr([&] {
    return ::open(path.c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  }));
  if (!fd.valid()) return chtools::ErrnoError(errno, "open", path);
  if (::ftruncate(fd.get(), size_bytes) != 0) {
    return chtools::ErrnoError(errno, "truncate", path);
  }
  RETURN_IF_ERROR(fd.Close());
  return Run(env, "mkfs.ext4 COW",
             {"mkfs.ext4", "-F", "-m", "0", "-q", "-E",
              "lazy_itable_init=1,lazy_journal_init=1,discard", path})
      .status();
}

absl::Status MakeOverlay(const Env& env, const std::string& base,
                         const std::string& overlay, int64_t size_bytes) {
  // qemu-img creates the file itself: claim the name first (exclusively, 0600)
  // so a planted symlink or file is refused, and qemu-img reuses this inode.
  RETURN_IF_ERROR(fs::WriteNewFile(overlay, "", 0600, /*sync=*/false));
  RETURN_IF_ERROR(Run(env, "qemu-img create overlay",
                      {"qemu-img", "create", "-f", "qcow2", "-F", "qcow2", "-b",
                       base, overlay}));
  if (size_bytes <= 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(CommandResult info,
                   Run(env, "qemu-img info",
                       {"qemu-img", "info", "--output=json", overlay}));
  nlohmann::json j =
      nlohmann::json::parse(info.out, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.contains("virtual-size") ||
      !j["virtual-size"].is_number_integer()) {
    return absl::InternalError(absl::StrCat("qemu-img info ", overlay,
                                            ": no virtual-size in its output"));
  }
  if (size_bytes > j["virtual-size"].get<int64_t>()) {
    RETURN_IF_ERROR(
        Run(env, "qemu-img resize",
            {"qemu-img", "resize", overlay, absl::StrCat(size_bytes)}));
  }
  return absl::OkStatus();
}

absl::Status MakeCidata(const Env& env, const Vm& vm,
                        const std::string& root_password,
                        const std::vector<std::string>& dns,
                        const std::string& path) {
  ASSIGN_OR_RETURN(chtools::launch::CidataFiles f,
                   chtools::launch::BuildCidataFiles(vm, root_password, dns));
  std::vector<chtools::launch::Fat12File> files = {{"meta-data", f.meta_data},
                                                   {"user-data", f.user_data}};
  if (f.network_config) files.push_back({"network-config", *f.network_config});
  absl::Time now = env.now();
  ASSIGN_OR_RETURN(
      std::string img,
      chtools::launch::BuildFat12Image(
          files, "CIDATA", static_cast<uint32_t>(absl::ToUnixNanos(now)),
          absl::ToCivilSecond(now, absl::LocalTimeZone())));
  return fs::WriteNewFile(path, img, 0600);
}

}  // namespace chtools::vm
