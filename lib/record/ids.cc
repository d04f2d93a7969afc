#include "lib/record/ids.h"

#include <arpa/inet.h>
#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"

namespace chtools::record {

namespace {

void RandomBytes(uint8_t* bytes, size_t size) {
  size_t got = 0;
  while (got < size) {
    // Blocking getrandom never fails for small sizes once the pool is
    // initialised, except for EINTR; anything else is a broken kernel.
    ssize_t n = ::getrandom(bytes + got, size - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();
    }
    got += static_cast<size_t>(n);
  }
}

}  // namespace

bool IsValidName(absl::string_view name) {
  auto alnum = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
  };
  if (name.empty() || name.size() > 63 || !alnum(name[0])) return false;
  for (char c : name) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return !IsValidId(name);
}

bool IsIpv4(absl::string_view s) {
  in_addr a;
  return ::inet_pton(AF_INET, std::string(s).c_str(), &a) == 1;
}

bool IsIpv6(absl::string_view s) {
  in6_addr a;
  return ::inet_pton(AF_INET6, std::string(s).c_str(), &a) == 1;
}

std::string NewMac() {
  uint8_t b[6];
  RandomBytes(b, sizeof(b));
  b[0] = static_cast<uint8_t>((b[0] & 0xfc) | 0x02);  // unicast, local
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2],
                         b[3], b[4], b[5]);
}

std::string NewId() {
  uint8_t bytes[8];
  RandomBytes(bytes, sizeof(bytes));
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
