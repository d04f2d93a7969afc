#include "lib/fs/sparse_copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/fs/extents.h"

namespace chtools::fs {
namespace {

// One copy_file_range call at most this long, so that a huge extent does not
// pin the kernel in one uninterruptible call.
constexpr uint64_t kMaxKernelCopy = uint64_t{1} << 30;
constexpr size_t kBufferSize = size_t{1} << 20;

// A failed copy names both files, except that running out of space is about
// dst alone.
absl::Status CopyError(int err, absl::string_view call,
                       absl::string_view src_name, absl::string_view dst_name) {
  if (err == ENOSPC || err == EDQUOT) return ErrnoError(err, call, dst_name);
  return ErrnoError(err, call, absl::StrCat(src_name, " -> ", dst_name));
}

absl::Status Shrank(absl::string_view src_name, uint64_t offset) {
  return absl::FailedPreconditionError(
      absl::StrCat("copy ", src_name,
                   ": the file shrank during the copy (EOF at ", offset, ")"));
}

class ExtentCopier {
 public:
  ExtentCopier(int src_fd, int dst_fd, absl::string_view src_name,
               absl::string_view dst_name)
      : src_fd_(src_fd),
        dst_fd_(dst_fd),
        src_name_(src_name),
        dst_name_(dst_name) {}

  absl::Status Copy(const Extent& e) {
    uint64_t pos = e.offset;
    while (pos < e.end()) {
      const uint64_t len = std::min(e.end() - pos, kMaxKernelCopy);
      uint64_t n = 0;
      if (use_kernel_) {
        ASSIGN_OR_RETURN(std::optional<uint64_t> copied, KernelCopy(pos, len));
        // nullopt: this kernel or filesystem does not do it. 0: EOF, which
        // pread confirms, since some filesystems' copy_file_range returned 0
        // for data it could not copy.
        if (!copied.has_value() || *copied == 0) {
          use_kernel_ = false;
          continue;
        }
        n = *copied;
      } else {
        ASSIGN_OR_RETURN(n, BufferCopy(pos, len));
      }
      if (n == 0) return Shrank(src_name_, pos);
      pos += n;
    }
    return absl::OkStatus();
  }

 private:
  // Bytes copied (0 at EOF), or nullopt if the kernel does not copy between
  // these two files.
  absl::StatusOr<std::optional<uint64_t>> KernelCopy(uint64_t pos,
                                                     uint64_t len) {
    loff_t in = static_cast<loff_t>(pos);
    loff_t out = static_cast<loff_t>(pos);
    ssize_t n = RetryEintr([&] {
      return ::copy_file_range(src_fd_, &in, dst_fd_, &out,
                               static_cast<size_t>(len), 0);
    });
    if (n >= 0) return std::optional<uint64_t>(static_cast<uint64_t>(n));
    const int err = errno;
    // EXDEV: different filesystems (5.3-5.18 allowed some, 5.19+ refuse);
    // EINVAL: a filesystem or file kind that cannot do it; ENOSYS: a kernel
    // before 4.5 or a seccomp policy; EOPNOTSUPP: some FUSE and NFS mounts.
    if (err == EXDEV || err == EINVAL || err == ENOSYS || err == EOPNOTSUPP) {
      return std::optional<uint64_t>();
    }
    return CopyError(err, "copy_file_range", src_name_, dst_name_);
  }

  absl::StatusOr<uint64_t> BufferCopy(uint64_t pos, uint64_t len) {
    if (buffer_ == nullptr) buffer_ = std::make_unique<char[]>(kBufferSize);
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(len, kBufferSize));
    ssize_t got = RetryEintr([&] {
      return ::pread(src_fd_, buffer_.get(), want, static_cast<off_t>(pos));
    });
    if (got < 0) return ErrnoError(errno, "read", src_name_);
    size_t done = 0;
    while (done < static_cast<size_t>(got)) {
      ssize_t w = RetryEintr([&] {
        return ::pwrite(dst_fd_, buffer_.get() + done,
                        static_cast<size_t>(got) - done,
                        static_cast<off_t>(pos + done));
      });
      if (w < 0) return ErrnoError(errno, "write", dst_name_);
      if (w == 0) {
        return absl::InternalError(
            absl::StrCat("write ", dst_name_, ": wrote nothing"));
      }
      done += static_cast<size_t>(w);
    }
    return static_cast<uint64_t>(got);
  }

  const int src_fd_;
  const int dst_fd_;
  const absl::string_view src_name_;
  const absl::string_view dst_name_;
  bool use_kernel_ = true;
  std::unique_ptr<char[]> buffer_;
};

}  // namespace

absl::StatusOr<CopyStats> SparseCopy(int src_fd, int dst_fd,
                                     absl::string_view src_name,
                                     absl::string_view dst_name) {
  struct stat src_st, dst_st;
  if (::fstat(src_fd, &src_st) != 0)
    return ErrnoError(errno, "fstat", src_name);
  if (::fstat(dst_fd, &dst_st) != 0)
    return ErrnoError(errno, "fstat", dst_name);
  if (!S_ISREG(src_st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("copy ", src_name, ": not a regular file"));
  }
  if (!S_ISREG(dst_st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("copy to ", dst_name, ": not a regular file"));
  }
  if (src_st.st_dev == dst_st.st_dev && src_st.st_ino == dst_st.st_ino) {
    return absl::InvalidArgumentError(absl::StrCat(
        "copy ", src_name, " to ", dst_name, ": they are the same file"));
  }
  const int flags = ::fcntl(dst_fd, F_GETFL);
  if (flags < 0) return ErrnoError(errno, "fcntl", dst_name);
  // pwrite on O_APPEND appends whatever the offset says.
  if (flags & O_APPEND) {
    return absl::InvalidArgumentError(
        absl::StrCat("copy to ", dst_name, ": opened with O_APPEND"));
  }

  const uint64_t size = static_cast<uint64_t>(src_st.st_size);
  ASSIGN_OR_RETURN(std::vector<Extent> extents,
                   DataExtents(src_fd, src_name, size));
  // Old bytes of dst must not show through the holes of src.
  if (RetryEintr([&] { return ::ftruncate(dst_fd, 0); }) != 0) {
    return ErrnoError(errno, "ftruncate", dst_name);
  }
  CopyStats stats{.size = size, .data_bytes = 0};
  ExtentCopier copier(src_fd, dst_fd, src_name, dst_name);
  for (const Extent& e : extents) {
    RETURN_IF_ERROR(copier.Copy(e));
    stats.data_bytes += e.length;
  }
  // A trailing hole is no extent: only the size makes it.
  if (RetryEintr(
          [&] { return ::ftruncate(dst_fd, static_cast<off_t>(size)); }) != 0) {
    return ErrnoError(errno, "ftruncate", dst_name);
  }
  return stats;
}

}  // namespace chtools::fs
