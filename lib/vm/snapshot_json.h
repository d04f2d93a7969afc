// A snapshot's config.json and state.json, read and rewritten for a clone or
// a restore (ch_config.h) in a forked child confined by seccomp
// (lib/sandbox/confined_call.h). Both files may come from another host or a
// guest-controlled VMM, and ch-clone cannot confine itself: it runs CH and
// qemu-img later, and a filter survives execve. The child may only use
// memory and write its answer to a pipe (groups kBasicProcess, kReadWrite: no
// open, no socket, no exec); the parent decodes the answer with protobuf's
// binary parser (snapshot_json.proto) and checks it again, so a parser bug
// that gives the attacker the child gains nothing but its pipe.
#ifndef CHTOOLS_LIB_VM_SNAPSHOT_JSON_H_
#define CHTOOLS_LIB_VM_SNAPSHOT_JSON_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/vm/ch_config.h"

namespace chtools::vm {

// Where the work is done: in a confined child (the default), or in this
// process (--no-seccomp, for debugging). The results and errors are the same.
enum class JsonSandbox { kConfined, kInProcess };

// What a clone or restore learns from the two files.
struct SnapshotJson {
  ChConfig config;         // ParseChConfig(config.json)
  uint64_t ram_bytes = 0;  // archive::RamBytesFromState(state.json)
};

// Both parsed, state.json first; the first error of RamBytesFromState or of
// ParseChConfig (naming `config_name`). Confined: also Internal when the
// child dies, answers more than the inputs can explain, or answers what the
// parser never would (vCPUs out of range, no disk, an empty disk path or NIC
// id, NIC queues out of range).
absl::StatusOr<SnapshotJson> ReadSnapshotJson(absl::string_view config_text,
                                              absl::string_view config_name,
                                              absl::string_view state_text,
                                              JsonSandbox where);

struct RewrittenJson {
  std::string config_json, state_json;
};

// RewriteChConfig(config.json, rw) and RewriteChState(state.json, paths),
// with their errors; InvalidArgument naming the file when a result would be
// longer than `max_bytes` (paths replaced by longer ones can make state.json
// grow by orders of magnitude: the same limit it was read with). Confined:
// also Internal as for ReadSnapshotJson.
absl::StatusOr<RewrittenJson> RewriteSnapshotJson(
    absl::string_view config_text, absl::string_view config_name,
    absl::string_view state_text, absl::string_view state_name,
    const ConfigRewrite& rw, const std::map<std::string, std::string>& paths,
    uint64_t max_bytes, JsonSandbox where);

}  // namespace chtools::vm

#endif  // CHTOOLS_LIB_VM_SNAPSHOT_JSON_H_
