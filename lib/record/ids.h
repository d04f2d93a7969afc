// Record ids: 16 lowercase hex characters from the kernel's CSPRNG.
#ifndef CHTOOLS_LIB_RECORD_IDS_H_
#define CHTOOLS_LIB_RECORD_IDS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace chtools::record {

// 8 random bytes from getrandom(2) as 16 lowercase hex characters.
std::string NewId();

// True if `id` is exactly 16 lowercase hex characters.
bool IsValidId(absl::string_view id);

// A random locally administered unicast MAC ("02:..", lowercase), for NICs
// given without one.
std::string NewMac();

}  // namespace chtools::record

#endif  // CHTOOLS_LIB_RECORD_IDS_H_
