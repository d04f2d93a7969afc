// The host side of a VM's NICs, checked at create time: the network
// namespace must be one, and a tap that already exists must be able to give
// CH the queues it will ask for (a single-queue tap cannot serve a VM with
// more than one vCPU: CH's TUNSETIFF with IFF_MULTI_QUEUE fails at start).
#ifndef CHTOOLS_LIB_VM_TAP_H_
#define CHTOOLS_LIB_VM_TAP_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/record/records.pb.h"

namespace chtools::vm {

struct TapState {
  bool exists = false;
  bool is_tap = false;       // a tun/tap device in tap mode
  bool multi_queue = false;  // IFF_MULTI_QUEUE
};

// Looks `name` up in the network namespace `netns_path` ("" = the caller's)
// with `ip -d -j link show`, run inside that namespace.
absl::StatusOr<TapState> ProbeTap(const std::string& netns_path,
                                  const std::string& name);

// InvalidArgument unless `path` is a network namespace file (nsfs), naming
// `field`.
absl::Status CheckNetns(const std::string& field, const std::string& path);

// For each NIC of `vm`: its netns is a network namespace, and a tap that
// exists there is a tap, multi-queue when CH will want more than one queue
// pair. FailedPrecondition naming the NIC, the tap and what to do.
absl::Status CheckNics(const Vm& vm);

}  // namespace chtools::vm

#endif  // CHTOOLS_LIB_VM_TAP_H_
