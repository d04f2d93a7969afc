// Fuzz target: config.json / state.json from an untrusted snapshot
// (ch_config.h). Parsing, rewriting and confinement never crash, and what
// RewriteChConfig accepts really is confined: an independent walk over the
// result (by the JSON structure, not by field names joined as text) finds
// every string that names a path in a field where chtools allows it: a disk
// or socket inside the run dir, a boot file or read-only image the caller
// allows, the kernel command line, rng.src = /dev/(u)random.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/testing/fuzz/check.h"
#include "lib/vm/ch_config.h"
#include "nlohmann/json.hpp"

namespace {

using Json = nlohmann::ordered_json;
using chtools::vm::ConfigRewrite;

constexpr char kRun[] = "/run/ch/0123456789abcdef";

bool Inside(const std::string& p) {
  if (!absl::StartsWith(p, absl::StrCat(kRun, "/"))) return false;
  for (absl::string_view part : absl::StrSplit(p, '/')) {
    if (part == ".." || part == ".") return false;
  }
  return true;
}

// `path`: the keys (array indexes as "#") from the root to `j`.
void CheckConfined(const Json& j, std::vector<std::string>& path,
                   const ConfigRewrite& rw) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      path.push_back(it.key());
      CheckConfined(it.value(), path, rw);
      path.pop_back();
    }
    return;
  }
  if (j.is_array()) {
    for (const Json& e : j) {
      path.push_back("#");
      CheckConfined(e, path, rw);
      path.pop_back();
    }
    return;
  }
  if (!j.is_string()) return;
  const std::string& v = j.get_ref<const std::string&>();
  if (v.find('/') == std::string::npos) return;
  const std::string where = absl::StrJoin(path, " > ");
  auto at = [&](std::initializer_list<const char*> want) {
    return path == std::vector<std::string>(want.begin(), want.end());
  };
  bool ok = false;
  if (at({"payload", "cmdline"})) ok = true;
  if (at({"rng", "src"})) ok = v == "/dev/urandom" || v == "/dev/random";
  if (at({"payload", "kernel"}) || at({"payload", "initramfs"}) ||
      at({"payload", "firmware"})) {
    ok = rw.allowed_ro_files.contains(v);
  }
  if (at({"disks", "#", "path"})) {
    ok = Inside(v) || rw.allowed_ro_files.contains(v);
  }
  if (at({"serial", "socket"}) || at({"console", "socket"})) ok = Inside(v);
  FUZZ_CHECK(ok, "rewritten config.json names a path at ", where, ": ", v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string> moves = {
      {"/old/run/cow.raw", absl::StrCat(kRun, "/cow.raw")},
      {"/old/run/api.sock", absl::StrCat(kRun, "/api.sock")}};
  (void)chtools::vm::RewriteChState(text, "state.json", moves);

  absl::StatusOr<chtools::vm::ChConfig> config =
      chtools::vm::ParseChConfig(text, "config.json");
  if (!config.ok()) return 0;
  ConfigRewrite rw;
  rw.run_dir = kRun;
  for (size_t i = 0; i < config->disks.size(); ++i) {
    rw.disk_paths.push_back(absl::StrCat(kRun, "/disk", i, ".raw"));
  }
  for (size_t i = 0; i < config->nics.size(); ++i) {
    rw.taps.push_back(absl::StrCat("chp01234567", i));
  }
  rw.direct_boot = size % 2 == 0;
  rw.console_socket = absl::StrCat(kRun, "/console.sock");
  rw.allowed_ro_files = {"/images/vmlinux", "/images/initrd.img",
                         "/images/layer0.erofs", "/images/CLOUDHV.fd"};
  absl::StatusOr<std::string> out =
      chtools::vm::RewriteChConfig(text, "config.json", rw);
  if (!out.ok()) {
    FUZZ_CHECK(absl::StartsWith(out.status().message(), "config.json"),
               "error does not name the file: ", out.status().ToString());
    return 0;
  }
  Json j = Json::parse(*out, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!j.is_discarded(), "rewritten config.json is not JSON: ", *out);
  std::vector<std::string> path;
  CheckConfined(j, path, rw);
  absl::StatusOr<chtools::vm::ChConfig> again =
      chtools::vm::ParseChConfig(*out, "rewritten");
  FUZZ_CHECK(again.ok(), "rewritten config.json does not parse: ",
             again.status().ToString());
  FUZZ_CHECK(again->disks.size() == rw.disk_paths.size(), "disk count");
  for (size_t i = 0; i < again->disks.size(); ++i) {
    FUZZ_CHECK(again->disks[i].path == rw.disk_paths[i], "disk ", i, " is ",
               again->disks[i].path);
  }
  FUZZ_CHECK(again->nics.size() == rw.taps.size(), "NIC count");
  for (size_t i = 0; i < again->nics.size(); ++i) {
    FUZZ_CHECK(again->nics[i].tap == rw.taps[i], "NIC ", i, " tap is ",
               again->nics[i].tap);
  }
  return 0;
}
