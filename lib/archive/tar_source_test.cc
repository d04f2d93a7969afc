#include "lib/archive/tar_source.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/archive/handles.h"
#include "lib/base/unique_fd.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::archive {
namespace {

using ::chtools::testing::IsOk;
using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;

constexpr size_t kMiB = size_t{1} << 20;

// A ustar archive with one entry "big" of `size` bytes of 'x'.
std::string MakeTar(const std::string& path, size_t size, bool gzip = false) {
  ArchiveWritePtr a(archive_write_new());
  archive_write_set_format_ustar(a.get());
  if (gzip) archive_write_add_filter_gzip(a.get());
  EXPECT_EQ(archive_write_open_filename(a.get(), path.c_str()), ARCHIVE_OK);
  ArchiveEntryPtr e(archive_entry_new());
  archive_entry_set_pathname(e.get(), "big");
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0600);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
  EXPECT_EQ(archive_write_header(a.get(), e.get()), ARCHIVE_OK);
  std::string data(size, 'x');
  EXPECT_EQ(archive_write_data(a.get(), data.data(), data.size()),
            static_cast<la_ssize_t>(size));
  EXPECT_EQ(archive_write_close(a.get()), ARCHIVE_OK);
  return path;
}

UniqueFd Open(const std::string& path) {
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

TEST(TarSourceTest, ReadsTarThroughTheCounter) {
  chtools::testing::TempDir tmp;
  for (bool gzip : {false, true}) {
    UniqueFd fd = Open(MakeTar(tmp.Join(gzip ? "a.tgz" : "a.tar"), kMiB, gzip));
    auto src = TarSource::Open(fd.get(), 2 * kMiB, "headers");
    ASSERT_THAT(src, IsOk());
    struct archive_entry* e;
    ASSERT_EQ(archive_read_next_header((*src)->tar(), &e), ARCHIVE_OK);
    EXPECT_STREQ(archive_entry_pathname(e), "big");
    (*src)->StartPhase(2 * kMiB, "data");
    std::string data(kMiB, '\0');
    EXPECT_EQ(archive_read_data((*src)->tar(), data.data(), data.size()),
              static_cast<la_ssize_t>(kMiB));
    EXPECT_EQ(data, std::string(kMiB, 'x'));
    // The decompressed stream: header, data, end blocks.
    EXPECT_GE((*src)->pulled(), kMiB + 512);
  }
}

TEST(TarSourceTest, StopsAPhaseThatPullsMoreThanItsBudget) {
  chtools::testing::TempDir tmp;
  UniqueFd fd = Open(MakeTar(tmp.Join("a.tar"), 4 * kMiB));
  auto src = TarSource::Open(fd.get(), kMiB, "headers");
  ASSERT_THAT(src, IsOk());
  struct archive_entry* e;
  ASSERT_EQ(archive_read_next_header((*src)->tar(), &e), ARCHIVE_OK);
  (*src)->StartPhase(kMiB, "data longer than allowed");
  std::string data(4 * kMiB, '\0');
  EXPECT_LT(archive_read_data((*src)->tar(), data.data(), data.size()), 0);
  EXPECT_THAT((*src)->Error("read", "big", absl::StatusCode::kDataLoss),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("data longer than allowed: more than 1048576 "
                                 "bytes of (decompressed) archive")));
  EXPECT_LE((*src)->pulled(), 2 * kMiB);
}

TEST(TarSourceTest, TheFirstPhaseCoversFormatDetection) {
  chtools::testing::TempDir tmp;
  UniqueFd fd = Open(MakeTar(tmp.Join("a.tar"), kMiB));
  EXPECT_THAT(TarSource::Open(fd.get(), 1000, "header too large"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header too large: more than 1000 bytes")));
}

TEST(TarSourceTest, RefusesEmptyInputAndNonTar) {
  chtools::testing::TempDir tmp;
  UniqueFd empty(::open(tmp.Join("empty").c_str(),
                        O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  EXPECT_THAT(TarSource::Open(empty.get(), kMiB, "headers"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the archive is empty")));
  UniqueFd text(::open(tmp.Join("text").c_str(),
                       O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  ASSERT_EQ(::write(text.get(), "hello, world\n", 13), 13);
  ASSERT_EQ(::lseek(text.get(), 0, SEEK_SET), 0);
  EXPECT_THAT(TarSource::Open(text.get(), kMiB, "headers"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a tar archive")));
}

}  // namespace
}  // namespace chtools::archive
