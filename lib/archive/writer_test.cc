#include "lib/archive/writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/archive/handles.h"
#include "lib/archive/manifest.h"
#include "lib/archive/reader.h"
#include "lib/archive/sparse_map.h"
#include "lib/archive/test_snapshot.h"
#include "lib/base/unique_fd.h"
#include "lib/record/records.pb.h"
#include "lib/testing/proto_matchers.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::archive {
namespace {

using ::chtools::archive::testing::AllocatedBytes;
using ::chtools::archive::testing::CheckSnapshotDir;
using ::chtools::archive::testing::CloudImageFiles;
using ::chtools::archive::testing::DirectBootFiles;
using ::chtools::archive::testing::ListDir;
using ::chtools::archive::testing::TestFile;
using ::chtools::archive::testing::WriteSnapshotDir;
using ::chtools::testing::EqualsProto;
using ::chtools::testing::IsOk;
using ::chtools::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr uint64_t kMiB = uint64_t{1} << 20;

UniqueFd OpenDir(const std::string& path) {
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

// A snapshot directory, an archive file and an empty staging directory.
class WriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mkdir(src_.c_str(), 0700), 0);
    ASSERT_EQ(::mkdir(staging_.c_str(), 0700), 0);
  }

  chtools::Snapshot MakeSnapshot(const std::vector<TestFile>& files,
                                 bool direct = true) {
    auto s = WriteSnapshotDir(src_, files, direct);
    EXPECT_THAT(s, IsOk());
    return s.ok() ? *s : chtools::Snapshot();
  }

  absl::Status Write(const chtools::Snapshot& s,
                     const WriteOptions& opts = {}) {
    UniqueFd out(::open(archive_.c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    UniqueFd dir = OpenDir(src_);
    return WriteSnapshotArchive(out.get(), s, dir.get(), opts);
  }

  absl::StatusOr<chtools::Snapshot> Extract() {
    UniqueFd in(::open(archive_.c_str(), O_RDONLY | O_CLOEXEC));
    UniqueFd dir = OpenDir(staging_);
    return ExtractSnapshotArchive(in.get(), archive_, dir.get());
  }

  uint64_t ArchiveSize() {
    struct stat st;
    EXPECT_EQ(::stat(archive_.c_str(), &st), 0);
    return static_cast<uint64_t>(st.st_size);
  }

  chtools::testing::TempDir tmp_;
  std::string src_ = tmp_.Join("src");
  std::string staging_ = tmp_.Join("staging");
  std::string archive_ = tmp_.Join("snapshot.tar");
};

TEST_F(WriterTest, RoundTripsADirectBootSnapshotKeepingHoles) {
  chtools::Snapshot s = MakeSnapshot(DirectBootFiles());
  ASSERT_THAT(Write(s), IsOk());
  auto got = Extract();
  ASSERT_THAT(got, IsOk());
  EXPECT_THAT(*got, EqualsProto(s));
  EXPECT_THAT(CheckSnapshotDir(staging_, s), IsOk());
  for (const char* name : {"memory-ranges", "cow.raw"}) {
    auto allocated = AllocatedBytes(staging_ + "/" + name);
    ASSERT_THAT(allocated, IsOk());
    EXPECT_LT(*allocated, kMiB) << name;
  }
  // Only the data is stored: 16 KiB of RAM, 5 KiB of disk, ~3 KiB of JSON.
  EXPECT_LT(ArchiveSize(), 64 * 1024);
}

TEST_F(WriterTest, RoundTripsACloudImageSnapshotWithZstd) {
  chtools::Snapshot s = MakeSnapshot(CloudImageFiles(), /*direct=*/false);
  WriteOptions zstd;
  zstd.compression = Compression::kZstd;
  ASSERT_THAT(Write(s, zstd), IsOk());
  UniqueFd in(::open(archive_.c_str(), O_RDONLY | O_CLOEXEC));
  unsigned char magic[4] = {};
  ASSERT_EQ(::read(in.get(), magic, 4), 4);
  EXPECT_THAT(magic, ElementsAre(0x28, 0xb5, 0x2f, 0xfd));
  auto got = Extract();
  ASSERT_THAT(got, IsOk());
  EXPECT_THAT(*got, EqualsProto(s));
  EXPECT_THAT(CheckSnapshotDir(staging_, s), IsOk());
}

TEST_F(WriterTest, WritesTheManifestFirstThenEachFileAsTheRecordOrdersThem) {
  chtools::Snapshot s = MakeSnapshot(DirectBootFiles());
  ASSERT_THAT(Write(s), IsOk());
  ArchiveReadPtr a(archive_read_new());
  archive_read_support_format_tar(a.get());
  ASSERT_EQ(archive_read_open_filename(a.get(), archive_.c_str(), 65536),
            ARCHIVE_OK);
  std::vector<std::string> names;
  struct archive_entry* e;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    const std::string name = archive_entry_pathname(e);
    names.push_back(name);
    EXPECT_EQ(archive_format(a.get()), ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);
    EXPECT_EQ(archive_entry_filetype(e), AE_IFREG);
    EXPECT_EQ(archive_entry_perm(e), 0600);
    EXPECT_EQ(archive_entry_uid(e), 0);
    EXPECT_EQ(archive_entry_gid(e), 0);
    EXPECT_EQ(archive_entry_mtime(e), 1767323045);  // record.created_at
    EXPECT_EQ(archive_entry_mtime_nsec(e), 123456789);
    std::vector<Extent> map;
    archive_entry_sparse_reset(e);
    la_int64_t off, len;
    while (archive_entry_sparse_next(e, &off, &len) == ARCHIVE_OK) {
      map.push_back({static_cast<uint64_t>(off), static_cast<uint64_t>(len)});
    }
    if (name == "memory-ranges") {
      // Data extents are whole file system blocks.
      EXPECT_THAT(map, ElementsAre(Extent{0, 4096}, Extent{kMiB, 8192},
                                   Extent{512 * kMiB - 4096, 4096}));
    } else if (name == "cow.raw") {
      EXPECT_THAT(map, ElementsAre(Extent{0, 4096}, Extent{32 * kMiB, 4096},
                                   Extent{64 * kMiB, 0}));
    } else {
      EXPECT_THAT(map, IsEmpty()) << name;
    }
    if (name == kManifestName) {
      std::string text(static_cast<size_t>(archive_entry_size(e)), '\0');
      ASSERT_EQ(archive_read_data(a.get(), text.data(), text.size()),
                static_cast<la_ssize_t>(text.size()));
      EXPECT_EQ(text, FormatManifest(s));
    }
  }
  EXPECT_THAT(names, ElementsAre("snapshot.txtpb", "config.json", "state.json",
                                 "memory-ranges", "cow.raw"));
}

TEST_F(WriterTest, StoresAFileThatIsOneHoleAsAnEmptyMap) {
  std::vector<TestFile> files = DirectBootFiles();
  files[3].pieces.clear();  // a fresh COW: 64 MiB, nothing written
  files.push_back({"cidata.img", 0, {}});
  chtools::Snapshot s = MakeSnapshot(files);
  ASSERT_THAT(Write(s), IsOk());
  EXPECT_LT(ArchiveSize(), 64 * 1024);
  auto got = Extract();
  ASSERT_THAT(got, IsOk());
  EXPECT_THAT(CheckSnapshotDir(staging_, s), IsOk());
}

TEST_F(WriterTest, ReportsProgressOverTheDataBytes) {
  chtools::Snapshot s = MakeSnapshot(DirectBootFiles());
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  WriteOptions opts;
  opts.progress = [&](uint64_t done, uint64_t total) {
    calls.push_back({done, total});
  };
  ASSERT_THAT(Write(s, opts), IsOk());
  // config.json + state.json + 4 fs blocks of RAM + 2 of disk.
  const uint64_t total =
      s.files(0).size_bytes() + s.files(1).size_bytes() + 4 * 4096 + 2 * 4096;
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.front(), std::make_pair(uint64_t{0}, total));
  EXPECT_EQ(calls.back(), std::make_pair(total, total));
  for (size_t i = 1; i < calls.size(); ++i) {
    EXPECT_LE(calls[i - 1].first, calls[i].first);
  }
}

TEST_F(WriterTest, RefusesFilesThatDoNotMatchTheRecord) {
  chtools::Snapshot s = MakeSnapshot(DirectBootFiles());
  ASSERT_EQ(::truncate((src_ + "/cow.raw").c_str(), 64 * kMiB + 1), 0);
  EXPECT_THAT(Write(s), StatusIs(absl::StatusCode::kDataLoss,
                                 HasSubstr("\"cow.raw\" has 67108865 bytes, "
                                           "the record says 67108864")));
  ASSERT_EQ(::truncate((src_ + "/cow.raw").c_str(), 64 * kMiB), 0);
  UniqueFd fd(::open((src_ + "/cow.raw").c_str(), O_WRONLY | O_CLOEXEC));
  ASSERT_EQ(::pwrite(fd.get(), "x", 1, 5 * kMiB), 1);
  EXPECT_THAT(Write(s), StatusIs(absl::StatusCode::kDataLoss,
                                 HasSubstr("\"cow.raw\" has SHA-256 ")));
  WriteOptions no_verify;
  no_verify.verify_sha256 = false;
  EXPECT_THAT(Write(s, no_verify), IsOk());
}

TEST_F(WriterTest, RefusesWhatIsNotARegularFileOfTheDirectory) {
  chtools::Snapshot s = MakeSnapshot(DirectBootFiles());
  const std::string cow = src_ + "/cow.raw";
  ASSERT_EQ(::unlink(cow.c_str()), 0);
  EXPECT_THAT(Write(s),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("open cow.raw")));
  ASSERT_EQ(::symlink("memory-ranges", cow.c_str()), 0);
  EXPECT_THAT(Write(s), StatusIs(absl::ErrnoToStatusCode(ELOOP),
                                 HasSubstr("open cow.raw")));
  ASSERT_EQ(::unlink(cow.c_str()), 0);
  ASSERT_EQ(::mkdir(cow.c_str(), 0700), 0);
  EXPECT_THAT(Write(s),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("\"cow.raw\" is not a regular file")));
}

TEST_F(WriterTest, RefusesRecordsTheReaderWouldRefuse) {
  chtools::Snapshot s = MakeSnapshot(DirectBootFiles());
  chtools::Snapshot bad = s;
  bad.mutable_files(3)->set_name("evil.sh");
  EXPECT_THAT(Write(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is not an allowed snapshot file")));
  bad = s;
  bad.mutable_files(3)->clear_sha256();
  EXPECT_THAT(Write(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("files[3].sha256")));
  bad = s;
  bad.set_id("nope");
  EXPECT_THAT(Write(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("snapshot.id")));
}

TEST_F(WriterTest, ReportsAnOutputThatCannotBeWritten) {
  chtools::Snapshot s = MakeSnapshot(DirectBootFiles());
  UniqueFd out(::open(tmp_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd dir = OpenDir(src_);
  absl::Status st = WriteSnapshotArchive(out.get(), s, dir.get(), {});
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("write"));
}

}  // namespace
}  // namespace chtools::archive
