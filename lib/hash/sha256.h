// SHA-256 of byte streams and files (OpenSSL's EVP), lowercase hex. Holes
// and known zero runs are fed without reading them.
#ifndef CHTOOLS_LIB_HASH_SHA256_H_
#define CHTOOLS_LIB_HASH_SHA256_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chtools::hash {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void Update(absl::string_view data);
  // `n` zero bytes (a hole of a sparse file).
  void UpdateZeros(uint64_t n);
  // The digest as 64 lowercase hex characters; the object is spent after.
  std::string HexDigest();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The SHA-256 of everything `fd` holds from offset 0 (pread: the offset is
// not moved), reading only its data extents (SEEK_DATA/SEEK_HOLE). Errors
// name `name`.
absl::StatusOr<std::string> Sha256Fd(int fd, absl::string_view name);

// Same for the file at `path` (opened O_RDONLY|O_NOFOLLOW).
absl::StatusOr<std::string> Sha256File(const std::string& path);

// True if `s` is 64 lowercase hex characters.
bool IsSha256Hex(absl::string_view s);

}  // namespace chtools::hash

#endif  // CHTOOLS_LIB_HASH_SHA256_H_
