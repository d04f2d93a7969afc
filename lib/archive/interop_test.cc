// Interoperation with the tar programs: bsdtar (libarchive 3.6.2) and GNU tar
// extract what WriteSnapshotArchive writes, sparse files included, and
// ExtractSnapshotArchive accepts what they create from a snapshot directory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/archive/manifest.h"
#include "lib/archive/reader.h"
#include "lib/archive/test_snapshot.h"
#include "lib/archive/writer.h"
#include "lib/base/unique_fd.h"
#include "lib/fs/files.h"
#include "lib/process/exit_info.h"
#include "lib/process/spawn.h"
#include "lib/record/records.pb.h"
#include "lib/testing/golden.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::archive {
namespace {

using ::chtools::archive::testing::AllocatedBytes;
using ::chtools::archive::testing::CheckSnapshotDir;
using ::chtools::archive::testing::CloudImageFiles;
using ::chtools::archive::testing::DirectBootFiles;
using ::chtools::archive::testing::ListDir;
using ::chtools::archive::testing::WriteSnapshotDir;
using ::chtools::testing::IsOk;
using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr uint64_t kMiB = uint64_t{1} << 20;

UniqueFd OpenDir(const std::string& path) {
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

// Runs argv; returns its stdout, failing the test on a non-zero exit.
std::string RunTool(const std::vector<std::string>& argv) {
  auto r = process::RunCommand(argv);
  EXPECT_THAT(r, IsOk());
  if (!r.ok()) return "";
  EXPECT_EQ(r->exit, process::ExitInfo::Exited(0))
      << absl::StrJoin(argv, " ") << "\n"
      << r->err;
  return r->out;
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return static_cast<uint64_t>(st.st_size);
}

class InteropTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    for (const std::string& d : {src_, out_, staging_}) {
      ASSERT_EQ(::mkdir(d.c_str(), 0700), 0);
    }
    auto s = GetParam() ? WriteSnapshotDir(src_, DirectBootFiles(), true)
                        : WriteSnapshotDir(src_, CloudImageFiles(), false);
    ASSERT_THAT(s, IsOk());
    snapshot_ = *s;
  }

  std::vector<std::string> Names() const {
    std::vector<std::string> names = {std::string(kManifestName)};
    for (const auto& f : snapshot_.files()) names.push_back(f.name());
    return names;
  }

  absl::Status WriteOurs(const std::string& path, Compression c) {
    UniqueFd out(
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    UniqueFd dir = OpenDir(src_);
    WriteOptions opts;
    opts.compression = c;
    return WriteSnapshotArchive(out.get(), snapshot_, dir.get(), opts);
  }

  absl::StatusOr<chtools::Snapshot> ExtractOurs(const std::string& path) {
    UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    UniqueFd dir = OpenDir(staging_);
    return ExtractSnapshotArchive(in.get(), path, dir.get());
  }

  // What a tar program extracted into out_: the manifest as we print it,
  // every file with its size and SHA-256, memory-ranges still sparse.
  void ExpectExtracted() {
    auto text = chtools::testing::ReadFile(out_ + "/snapshot.txtpb");
    ASSERT_THAT(text, IsOk());
    EXPECT_EQ(*text, FormatManifest(snapshot_));
    ASSERT_EQ(::unlink((out_ + "/snapshot.txtpb").c_str()), 0);
    EXPECT_THAT(CheckSnapshotDir(out_, snapshot_), IsOk());
    auto allocated = AllocatedBytes(out_ + "/memory-ranges");
    ASSERT_THAT(allocated, IsOk());
    EXPECT_LT(*allocated, kMiB);
  }

  // A snapshot directory with snapshot.txtpb, for the tar programs to pack.
  void AddManifestToSource() {
    ASSERT_THAT(fs::WriteNewFile(src_ + "/snapshot.txtpb",
                                 FormatManifest(snapshot_), 0600, false),
                IsOk());
  }

  chtools::testing::TempDir tmp_;
  std::string src_ = tmp_.Join("src");
  std::string out_ = tmp_.Join("out");
  std::string staging_ = tmp_.Join("staging");
  chtools::Snapshot snapshot_;
};

TEST_P(InteropTest, BsdtarListsAndExtractsOurArchive) {
  const std::string archive = tmp_.Join("ours.tar");
  ASSERT_THAT(WriteOurs(archive, Compression::kNone), IsOk());
  const std::string listing = RunTool({"bsdtar", "-tvf", archive});
  for (const auto& f : snapshot_.files()) {
    EXPECT_THAT(listing, HasSubstr(absl::StrCat(f.size_bytes(), " ")));
    EXPECT_THAT(listing, HasSubstr(f.name()));
  }
  EXPECT_THAT(listing, ::testing::StartsWith("-rw-------  0 0      0"));
  RunTool({"bsdtar", "-xSf", archive, "-C", out_});
  ExpectExtracted();
}

TEST_P(InteropTest, BsdtarExtractsOurZstdArchive) {
  const std::string archive = tmp_.Join("ours.tar.zst");
  ASSERT_THAT(WriteOurs(archive, Compression::kZstd), IsOk());
  RunTool({"bsdtar", "-xSf", archive, "-C", out_});
  ExpectExtracted();
}

TEST_P(InteropTest, GnuTarExtractsOurArchive) {
  const std::string archive = tmp_.Join("ours.tar");
  ASSERT_THAT(WriteOurs(archive, Compression::kNone), IsOk());
  RunTool({"tar", "-xSf", archive, "-C", out_});
  ExpectExtracted();
}

TEST_P(InteropTest, ReaderAcceptsWhatBsdtarMakesOfASnapshotDirectory) {
  AddManifestToSource();
  const std::string archive = tmp_.Join("bsdtar.tar");
  std::vector<std::string> argv = {"bsdtar", "--format=pax", "-cSf",
                                   archive,  "-C",           src_};
  for (const std::string& n : Names()) argv.push_back(n);
  RunTool(argv);
  // bsdtar stores only the data of sparse files.
  EXPECT_LT(FileSize(archive), 64 * 1024);
  auto got = ExtractOurs(archive);
  ASSERT_THAT(got, IsOk());
  EXPECT_THAT(CheckSnapshotDir(staging_, snapshot_), IsOk());
}

TEST_P(InteropTest, ReaderAcceptsWhatBsdtarMakesCompressed) {
  AddManifestToSource();
  for (const char* flag : {"--zstd", "-z"}) {
    SCOPED_TRACE(flag);
    const std::string archive = tmp_.Join(absl::StrCat("bsdtar", flag));
    std::vector<std::string> argv = {"bsdtar", "--format=pax", flag, "-cf",
                                     archive,  "-C",           src_};
    for (const std::string& n : Names()) argv.push_back(n);
    RunTool(argv);
    ASSERT_THAT(ExtractOurs(archive), IsOk());
    EXPECT_THAT(CheckSnapshotDir(staging_, snapshot_), IsOk());
    for (const auto& f : snapshot_.files()) {
      ASSERT_EQ(::unlink((staging_ + "/" + f.name()).c_str()), 0);
    }
  }
}

TEST_P(InteropTest, ReaderAcceptsWhatGnuTarMakes) {
  AddManifestToSource();
  const std::vector<std::vector<std::string>> formats = {
      {"--format=gnu", "-S"},
      {"--format=posix", "--sparse-version=1.0", "-S"},
      {"--format=posix", "--sparse-version=0.1", "-S"},
  };
  for (const auto& format : formats) {
    SCOPED_TRACE(absl::StrJoin(format, " "));
    const std::string archive = tmp_.Join("gnutar.tar");
    std::vector<std::string> argv = {"tar", "-cf", archive, "-C", src_};
    argv.insert(argv.begin() + 1, format.begin(), format.end());
    for (const std::string& n : Names()) argv.push_back(n);
    RunTool(argv);
    ASSERT_THAT(ExtractOurs(archive), IsOk());
    EXPECT_THAT(CheckSnapshotDir(staging_, snapshot_), IsOk());
    for (const auto& f : snapshot_.files()) {
      ASSERT_EQ(::unlink((staging_ + "/" + f.name()).c_str()), 0);
    }
  }
}

TEST_P(InteropTest, ReaderRefusesABsdtarArchiveThatBreaksItsManifest) {
  AddManifestToSource();
  // A snapshot file the manifest does not list, added by whoever made the
  // archive.
  const std::string extra = GetParam() ? "overlay.qcow2" : "cow.raw";
  ASSERT_THAT(fs::WriteNewFile(src_ + "/" + extra, "x", 0600, false), IsOk());
  const std::string archive = tmp_.Join("bsdtar.tar");
  std::vector<std::string> argv = {"bsdtar", "--format=pax", "-cf",
                                   archive,  "-C",           src_};
  for (const std::string& n : Names()) argv.push_back(n);
  argv.push_back(extra);
  RunTool(argv);
  EXPECT_THAT(ExtractOurs(archive), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("not in the manifest")));
  EXPECT_THAT(ListDir(staging_), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Snapshots, InteropTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "DirectBoot" : "CloudImage";
                         });

}  // namespace
}  // namespace chtools::archive
