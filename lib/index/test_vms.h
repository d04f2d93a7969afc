// Test helpers (testonly): minimal valid VM records with predictable ids.
#ifndef CHTOOLS_LIB_INDEX_TEST_VMS_H_
#define CHTOOLS_LIB_INDEX_TEST_VMS_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_format.h"
#include "lib/record/records.pb.h"

namespace chtools::index {

// A valid id derived from n: "00000000000000ab" style, 16 lowercase hex.
inline std::string TestId(uint64_t n) { return absl::StrFormat("%016x", n); }

// A record that passes record::ValidateVm: 1 vCPU, 512 MiB, 10 GiB.
inline Vm TestVm(const std::string& id, const std::string& name,
                 Vm::State state = Vm::CREATED) {
  Vm vm;
  vm.set_id(id);
  vm.set_state(state);
  vm.mutable_config()->set_name(name);
  vm.mutable_config()->set_cpu(1);
  vm.mutable_config()->set_memory_bytes(int64_t{512} << 20);
  vm.mutable_config()->set_storage_bytes(int64_t{10} << 30);
  vm.mutable_config()->set_image("ghcr.io/example/image:1");
  return vm;
}

}  // namespace chtools::index

#endif  // CHTOOLS_LIB_INDEX_TEST_VMS_H_
