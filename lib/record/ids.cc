#include "lib/record/ids.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/escaping.h"

namespace chtools::record {

std::string NewId() {
  uint8_t bytes[8];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    // Blocking getrandom never fails for small sizes once the pool is
    // initialised, except for EINTR; anything else is a broken kernel.
    ssize_t n = ::getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();
    }
    got += static_cast<size_t>(n);
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

bool IsValidId(absl::string_view id) {
  if (id.size() != 16) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace chtools::record
