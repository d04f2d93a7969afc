#include "lib/vm/trust.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/vm/paths.h"

namespace chtools::vm {
namespace {

std::string Field(absl::string_view prefix, absl::string_view name) {
  return prefix.empty() ? std::string(name) : absl::StrCat(prefix, ".", name);
}

// True if `path` is `dir` or lies below it, by string after removing "."
// and ".." segments ("a/../b" cannot step out unseen).
bool Under(absl::string_view path, absl::string_view dir) {
  std::string norm;
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == absl::string_view::npos) j = path.size();
    std::string seg(path.substr(i, j - i));
    if (seg == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!seg.empty() && seg != ".") {
      parts.push_back(seg);
    }
    i = j + 1;
  }
  for (const std::string& p : parts) absl::StrAppend(&norm, "/", p);
  return norm == dir || absl::StartsWith(norm, absl::StrCat(dir, "/"));
}

absl::Status Outside(const ToolConfig& config, absl::string_view field,
                     const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  if (Under(path, VmRunParent(config)) || Under(path, VmLogParent(config))) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", path,
        " is inside the VMs' run or log dirs: not an image a VM may use"));
  }
  return absl::OkStatus();
}

absl::Status RegularFile(absl::string_view field, const std::string& path,
                         absl::string_view missing_means = "") {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        field, ": ", path, ": ", std::strerror(errno), missing_means));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, ": ", path, " is not a regular file"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckRecordPaths(const ToolConfig& config, const Vm& vm,
                              absl::string_view field_path) {
  const VmPaths p = PathsFor(config, vm.id());
  if (!vm.run_dir().empty() && vm.run_dir() != p.run_dir) {
    return absl::InvalidArgumentError(absl::StrCat(
        Field(field_path, "run_dir"), ": \"", vm.run_dir(), "\" is not ",
        p.run_dir, " (a VM's dirs come from the settings and its id)"));
  }
  if (!vm.log_dir().empty() && vm.log_dir() != p.log_dir) {
    return absl::InvalidArgumentError(absl::StrCat(
        Field(field_path, "log_dir"), ": \"", vm.log_dir(), "\" is not ",
        p.log_dir, " (a VM's dirs come from the settings and its id)"));
  }
  for (int i = 0; i < vm.storage_size(); ++i) {
    const StorageConfig& d = vm.storage(i);
    const std::string field =
        Field(field_path, absl::StrCat("storage[", i, "].path"));
    if (!d.ro()) {
      if (d.path() != p.cow_raw && d.path() != p.overlay) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ": a writable disk must be the VM's own ",
                         p.cow_raw, " or ", p.overlay, ", not ", d.path()));
      }
      continue;
    }
    if (d.path() == p.cidata) continue;
    RETURN_IF_ERROR(Outside(config, field, d.path()));
  }
  RETURN_IF_ERROR(Outside(config, Field(field_path, "boot.kernel_path"),
                          vm.boot().kernel_path()));
  RETURN_IF_ERROR(Outside(config, Field(field_path, "boot.initrd_path"),
                          vm.boot().initrd_path()));
  RETURN_IF_ERROR(Outside(config, Field(field_path, "boot.firmware_path"),
                          vm.boot().firmware_path()));
  return absl::OkStatus();
}

absl::Status CheckBootFiles(const ToolConfig& config, const Vm& vm) {
  const VmPaths p = PathsFor(config, vm.id());
  // A read-only image is opened through its symlinks: where it really is
  // must be outside the VMs' dirs too.
  auto image = [&](absl::string_view field,
                   const std::string& path) -> absl::Status {
    RETURN_IF_ERROR(RegularFile(field, path));
    char real[PATH_MAX];
    if (::realpath(path.c_str(), real) == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat(field, ": ", path, ": ", std::strerror(errno)));
    }
    return Outside(config, absl::StrCat(field, " (", path, ")"), real);
  };
  for (int i = 0; i < vm.storage_size(); ++i) {
    const StorageConfig& d = vm.storage(i);
    const std::string field = absl::StrCat("storage[", i, "]");
    if (!d.ro()) {
      RETURN_IF_ERROR(RegularFile(field, d.path(), ": the VM's disk is gone"));
    } else if (d.path() == p.cidata) {
      if (!vm.first_booted()) RETURN_IF_ERROR(RegularFile(field, d.path()));
    } else {
      RETURN_IF_ERROR(image(field, d.path()));
    }
  }
  for (const auto& [field, path] :
       {std::pair{"boot.kernel_path", vm.boot().kernel_path()},
        std::pair{"boot.initrd_path", vm.boot().initrd_path()},
        std::pair{"boot.firmware_path", vm.boot().firmware_path()}}) {
    if (!path.empty()) RETURN_IF_ERROR(image(field, path));
  }
  return absl::OkStatus();
}

}  // namespace chtools::vm
