// UniqueFd: a move-only owner of one file descriptor.
#ifndef CHTOOLS_LIB_BASE_UNIQUE_FD_H_
#define CHTOOLS_LIB_BASE_UNIQUE_FD_H_

#include "absl/status/status.h"

namespace chtools {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  // Gives up ownership without closing; returns the fd (or -1).
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes the current fd (errors ignored) and takes `fd`.
  void reset(int fd = -1);
  // Closes the fd and reports close(2)'s error: use it for fds written to.
  absl::Status Close();

 private:
  int fd_ = -1;
};

}  // namespace chtools

#endif  // CHTOOLS_LIB_BASE_UNIQUE_FD_H_
