#include "lib/hash/sha256.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "lib/base/errno.h"
#include "lib/base/unique_fd.h"

namespace chtools::hash {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr);
}

Sha256::~Sha256() {
  if (impl_ && impl_->ctx) EVP_MD_CTX_free(impl_->ctx);
}

Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::Update(absl::string_view data) {
  EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
}

void Sha256::UpdateZeros(uint64_t n) {
  static const std::vector<char> kZeros(1 << 16, 0);
  while (n > 0) {
    size_t k = static_cast<size_t>(std::min<uint64_t>(n, kZeros.size()));
    EVP_DigestUpdate(impl_->ctx, kZeros.data(), k);
    n -= k;
  }
}

std::string Sha256::HexDigest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, md, &len);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

absl::StatusOr<std::string> Sha256Fd(int fd, absl::string_view name) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoError(errno, "fstat", name);
  const off_t size = st.st_size;
  Sha256 h;
  std::vector<char> buf(1 << 20);
  off_t pos = 0;
  while (pos < size) {
    off_t data = ::lseek(fd, pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO)
        data = size;  // a hole to the end
      else
        return ErrnoError(errno, "lseek SEEK_DATA", name);
    }
    if (data > pos) h.UpdateZeros(static_cast<uint64_t>(data - pos));
    pos = data;
    if (pos >= size) break;
    off_t hole = ::lseek(fd, pos, SEEK_HOLE);
    if (hole < 0) return ErrnoError(errno, "lseek SEEK_HOLE", name);
    hole = std::min(hole, size);
    while (pos < hole) {
      size_t want =
          static_cast<size_t>(std::min<off_t>(hole - pos, buf.size()));
      ssize_t n =
          RetryEintr([&] { return ::pread(fd, buf.data(), want, pos); });
      if (n < 0) return ErrnoError(errno, "read", name);
      if (n == 0) break;  // shrunk under us: what follows counts as missing
      h.Update(absl::string_view(buf.data(), static_cast<size_t>(n)));
      pos += n;
    }
    if (pos < hole) break;
  }
  return h.HexDigest();
}

absl::StatusOr<std::string> Sha256File(const std::string& path) {
  UniqueFd fd(RetryEintr(
      [&] { return ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC); }));
  if (!fd.valid()) return ErrnoError(errno, "open", path);
  return Sha256Fd(fd.get(), path);
}

bool IsSha256Hex(absl::string_view s) {
  if (s.size() != 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

}  // namespace chtools::hash
