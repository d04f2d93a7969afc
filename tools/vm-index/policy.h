// vm-index's seccomp policy: what the verbs may do once the index is open
// and before a record stream is read (lib/sandbox).
#ifndef CHTOOLS_TOOLS_VM_INDEX_POLICY_H_
#define CHTOOLS_TOOLS_VM_INDEX_POLICY_H_

#include "absl/strings/string_view.h"
#include "lib/sandbox/policy.h"

namespace vm_index {

// The policy for `verb`. ls and get only read: no file is opened for
// writing, nothing is created, renamed or removed. put, rm and fsck also
// write the registry. None may open a network socket (AF_UNIX only, to
// find a VM's CH on its API socket), start a program, signal another
// process, or map executable memory.
chtools::sandbox::PolicyBuilder BuildPolicy(absl::string_view verb);

// One line for --help: the groups of each verb.
extern const char kPolicyHelp[];

}  // namespace vm_index

#endif  // CHTOOLS_TOOLS_VM_INDEX_POLICY_H_
