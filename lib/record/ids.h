// Record ids (16 lowercase hex characters from the kernel's CSPRNG) and the
// one implementation of each identifier check: ids, names, IPv4/IPv6.
#ifndef CHTOOLS_LIB_RECORD_IDS_H_
#define CHTOOLS_LIB_RECORD_IDS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace chtools::record {

// 8 random bytes from getrandom(2) as 16 lowercase hex characters.
std::string NewId();

// True if `id` is exactly 16 lowercase hex characters.
bool IsValidId(absl::string_view id);

// Cocoon's name rule, ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$, minus the names
// that are valid ids (refs resolve ids first, so such a name would stand for
// another VM).
bool IsValidName(absl::string_view name);

// A dotted-quad IPv4 address (inet_pton), an IPv6 address.
bool IsIpv4(absl::string_view s);
bool IsIpv6(absl::string_view s);

// A random locally administered unicast MAC ("02:..", lowercase), for NICs
// given without one.
std::string NewMac();

}  // namespace chtools::record

#endif  // CHTOOLS_LIB_RECORD_IDS_H_
