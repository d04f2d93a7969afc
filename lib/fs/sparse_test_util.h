// Test helpers for sparse files: deterministic data, writes at offsets,
// extents, allocation and SHA-256 of an fd.
#ifndef CHTOOLS_LIB_FS_SPARSE_TEST_UTIL_H_
#define CHTOOLS_LIB_FS_SPARSE_TEST_UTIL_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/extents.h"

namespace chtools::fs {

// gtest prints extents as {offset, length}.
void PrintTo(const Extent& e, std::ostream* os);

}  // namespace chtools::fs

namespace chtools::testing {

// `n` pseudo-random bytes from `seed` (the same for the same seed); no
// aligned 512-byte block of it is all zeros.
std::string Pattern(size_t n, uint64_t seed);

// Creates (or truncates) `path` read-write; a test failure if it cannot.
UniqueFd CreateFile(const std::string& path);

// An anonymous tmpfs file (memfd); a test failure if it cannot be made.
UniqueFd CreateMemfd(const char* name);

// pwrite of all of `data` at `offset`; a test failure if short.
void WriteAt(int fd, uint64_t offset, absl::string_view data);

// The fd's size, allocated bytes (st_blocks * 512), data extents and SHA-256;
// test failures (and 0 / empty) if they cannot be had.
uint64_t SizeOf(int fd);
uint64_t AllocatedBytes(int fd);
std::vector<fs::Extent> ExtentsOf(int fd);
std::string Sha256Of(int fd);

// Reads [offset, offset + n) of `fd`.
std::string ReadAt(int fd, uint64_t offset, size_t n);

}  // namespace chtools::testing

#endif  // CHTOOLS_LIB_FS_SPARSE_TEST_UTIL_H_
