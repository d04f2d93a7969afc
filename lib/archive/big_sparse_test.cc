// A 10 GiB COW holding 256 MiB of data: the archive stores only the data,
// bsdtar lists the full size and extracts it sparse with the same SHA-256,
// and so does ExtractSnapshotArchive.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/archive/reader.h"
#include "lib/archive/test_snapshot.h"
#include "lib/archive/writer.h"
#include "lib/base/unique_fd.h"
#include "lib/hash/sha256.h"
#include "lib/process/exit_info.h"
#include "lib/process/spawn.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::archive {
namespace {

using ::chtools::archive::testing::AllocatedBytes;
using ::chtools::archive::testing::DirectBootFiles;
using ::chtools::archive::testing::Pattern;
using ::chtools::archive::testing::TestFile;
using ::chtools::testing::IsOk;
using ::testing::HasSubstr;

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

UniqueFd OpenDir(const std::string& path) {
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

TEST(BigSparseTest, TenGibWithQuarterGibOfDataRoundTripsThroughBsdtarAndUs) {
  chtools::testing::TempDir tmp;
  const std::string src = tmp.Join("src"), out = tmp.Join("out"),
                    staging = tmp.Join("staging"),
                    archive = tmp.Join("snap.tar");
  for (const std::string& d : {src, out, staging}) {
    ASSERT_EQ(::mkdir(d.c_str(), 0700), 0);
  }
  std::vector<TestFile> files = DirectBootFiles();
  TestFile& cow = files[3];
  cow.size = 10 * kGiB;
  cow.pieces.clear();
  const std::string head = Pattern("extent", 4096);
  for (uint64_t i = 0; i < 64; ++i) {  // 64 x 4 MiB, one every 160 MiB
    std::string data(4 * kMiB, static_cast<char>('A' + i % 26));
    data.replace(0, head.size(), head);
    cow.pieces.push_back({i * 160 * kMiB + 4096 * (i % 7), std::move(data)});
  }
  absl::Time t0 = absl::Now();
  auto s = archive::testing::WriteSnapshotDir(src, files);
  ASSERT_THAT(s, IsOk());
  const std::string& want = s->files(3).sha256();

  absl::Time t1 = absl::Now();
  {
    UniqueFd fd(
        ::open(archive.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    UniqueFd dir = OpenDir(src);
    ASSERT_THAT(WriteSnapshotArchive(fd.get(), *s, dir.get()), IsOk());
  }
  struct stat st;
  ASSERT_EQ(::stat(archive.c_str(), &st), 0);
  EXPECT_GT(static_cast<uint64_t>(st.st_size), 256 * kMiB);
  EXPECT_LT(static_cast<uint64_t>(st.st_size), 257 * kMiB);

  absl::Time t2 = absl::Now();
  auto list = process::RunCommand({"bsdtar", "-tvf", archive});
  ASSERT_THAT(list, IsOk());
  EXPECT_EQ(list->exit, process::ExitInfo::Exited(0)) << list->err;
  EXPECT_THAT(list->out, HasSubstr("10737418240 Jan  2  2026 cow.raw"));

  auto x = process::RunCommand({"bsdtar", "-xSf", archive, "-C", out});
  ASSERT_THAT(x, IsOk());
  EXPECT_EQ(x->exit, process::ExitInfo::Exited(0)) << x->err;
  EXPECT_THAT(hash::Sha256File(out + "/cow.raw"),
              chtools::testing::IsOkAndHolds(want));
  auto allocated = AllocatedBytes(out + "/cow.raw");
  ASSERT_THAT(allocated, IsOk());
  EXPECT_GE(*allocated, 256 * kMiB);
  EXPECT_LT(*allocated, 260 * kMiB);

  absl::Time t3 = absl::Now();
  {
    UniqueFd in(::open(archive.c_str(), O_RDONLY | O_CLOEXEC));
    UniqueFd dir = OpenDir(staging);
    ASSERT_THAT(ExtractSnapshotArchive(in.get(), archive, dir.get()), IsOk());
  }
  absl::Time t4 = absl::Now();
  EXPECT_THAT(hash::Sha256File(staging + "/cow.raw"),
              chtools::testing::IsOkAndHolds(want));
  allocated = AllocatedBytes(staging + "/cow.raw");
  ASSERT_THAT(allocated, IsOk());
  EXPECT_GE(*allocated, 256 * kMiB);
  EXPECT_LT(*allocated, 260 * kMiB);
  std::cerr << "archive " << st.st_size << " bytes; make files+hash "
            << (t1 - t0) << ", write " << (t2 - t1) << ", bsdtar t+x+hash "
            << (t3 - t2) << ", extract " << (t4 - t3) << "\n";
}

}  // namespace
}  // namespace chtools::archive
