#include "lib/testing/golden.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"

namespace chtools::testing {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

}  // namespace

std::string RunfilePath(absl::string_view relative) {
  std::string srcdir = Env("TEST_SRCDIR");
  if (srcdir.empty()) srcdir = Env("RUNFILES_DIR");
  if (srcdir.empty()) {
    // `bazel run` of a test: the runfiles tree sits beside the binary.
    std::error_code ec;
    std::filesystem::path exe =
        std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) srcdir = exe.string() + ".runfiles";
  }
  std::string workspace = Env("TEST_WORKSPACE");
  return absl::StrCat(srcdir, "/", workspace.empty() ? "chtools" : workspace,
                      "/", relative);
}

absl::StatusOr<std::string> ReadFile(absl::string_view path) {
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in) return ErrnoError(errno, "open", path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::vector<std::string> ListCases(absl::string_view dir,
                                   absl::string_view suffix) {
  std::vector<std::string> cases;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(RunfilePath(dir), ec)) {
    std::string name = entry.path().filename().string();
    if (absl::EndsWith(name, suffix)) {
      cases.push_back(name.substr(0, name.size() - suffix.size()));
    }
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

bool UpdatingGoldens() {
  return Env("UPDATE_GOLDEN") == "1" &&
         !Env("BUILD_WORKSPACE_DIRECTORY").empty();
}

absl::Status WriteGolden(absl::string_view relative,
                         absl::string_view contents) {
  std::string path =
      absl::StrCat(Env("BUILD_WORKSPACE_DIRECTORY"), "/", relative);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return ErrnoError(errno, "open", path);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) return ErrnoError(errno, "write", path);
  return absl::OkStatus();
}

}  // namespace chtools::testing
