// The hostile and valid archives of testdata/archive (made by its
// make_corpus.py): every hostile one is refused with its rule named and an
// empty staging directory left behind; every valid one extracts exactly.
#include "lib/archive/reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/archive/test_snapshot.h"
#include "lib/base/unique_fd.h"
#include "lib/testing/golden.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

#ifdef CHTOOLS_TEST_CONFINED_READER
// confined_reader_test: the same cases through the seccomp-confined child.
#include "lib/archive/confined_reader.h"
#define ExtractSnapshotArchive ExtractSnapshotArchiveConfined
#endif

namespace chtools::archive {
namespace {

using ::chtools::archive::testing::AllocatedBytes;
using ::chtools::archive::testing::CheckSnapshotDir;
using ::chtools::archive::testing::ListDir;
using ::chtools::testing::IsOk;
using ::chtools::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kDataLoss = absl::StatusCode::kDataLoss;

struct Expected {
  absl::StatusCode code;
  std::string message;  // a part of the message naming the rule
};

// Every file of testdata/archive/hostile, with the rule it breaks.
const std::map<std::string, Expected>& HostileCases() {
  static const auto* cases = new std::map<std::string, Expected>{
      // Entry types and modes.
      {"symlink.tar",
       {kInvalid, "entry 2: not a regular file: a symlink to \"/etc/passwd\""}},
      {"hardlink.tar",
       {kInvalid,
        "entry 3: not a regular file: a hard link to \"config.json\""}},
      {"directory.tar", {kInvalid, "entry 2: not a regular file: a directory"}},
      {"chardev.tar",
       {kInvalid, "entry 2: not a regular file: a character device"}},
      {"blockdev.tar",
       {kInvalid, "entry 2: not a regular file: a block device"}},
      {"fifo.tar", {kInvalid, "entry 2: not a regular file: a FIFO"}},
      {"setuid.tar", {kInvalid, "entry 2: set-id or sticky bit: mode 4755"}},
      {"sticky.tar", {kInvalid, "entry 2: set-id or sticky bit: mode 1600"}},
      // Names.
      {"absolute-name.tar",
       {kInvalid, "entry 2: absolute name: \"/config.json\""}},
      {"dotdot-name.tar",
       {kInvalid, "entry 2: \"..\" in name: \"../config.json\""}},
      {"subdir-name.tar",
       {kInvalid, "entry 2: name has a directory part: \"x/config.json\""}},
      {"pax-path-dotdot.tar",
       {kInvalid, "entry 2: \"..\" in name: \"../../etc/cron.d/x\""}},
      {"not-allowlisted.tar",
       {kInvalid,
        "files[4].name: \"evil.sh\" is not an allowed snapshot file"}},
      {"not-in-manifest.tar",
       {kInvalid, "entry 5 \"cow.raw\": not in the manifest"}},
      {"duplicate-entry.tar",
       {kInvalid,
        "entry 6 \"config.json\": duplicate entry: already seen as entry 2"}},
      {"duplicate-in-manifest.tar",
       {kInvalid, "files[4].name: \"config.json\" is listed twice"}},
      {"manifest-twice.tar",
       {kInvalid, "entry 6 \"snapshot.txtpb\": duplicate entry"}},
      // The manifest.
      {"missing-manifest.tar",
       {kInvalid,
        "entry 1 \"config.json\": missing snapshot.txtpb: it must be "
        "the first entry"}},
      {"manifest-not-first.tar",
       {kInvalid, "entry 1 \"config.json\": missing snapshot.txtpb"}},
      {"empty.tar",
       {kInvalid, "missing snapshot.txtpb: the archive has no entries"}},
      {"malformed-manifest.tar",
       {kInvalid,
        "entry 1 \"snapshot.txtpb\": malformed snapshot.txtpb: "
        "snapshot.txtpb:3:"}},
      {"manifest-two-snapshots.tar",
       {kInvalid, "must hold exactly one snapshot record"}},
      {"manifest-invalid.tar",
       {kInvalid, "malformed snapshot.txtpb: snapshot.txtpb: snapshot[0].id"}},
      {"manifest-no-sha256.tar",
       {kInvalid, "manifest rejected: files[3].sha256: \"\" is not 64"}},
      {"manifest-no-state.tar",
       {kInvalid, "manifest rejected: files: \"state.json\" is missing"}},
      {"manifest-too-large.tar.gz",
       {kInvalid, "entry 1 \"snapshot.txtpb\": manifest too large"}},
      // Contents against the manifest.
      {"size-mismatch.tar",
       {kDataLoss,
        "entry 2 \"config.json\": size mismatch: the entry has 1376 "
        "bytes, snapshot.txtpb says 1375"}},
      {"sha256-mismatch.tar",
       {kDataLoss, "entry 2 \"config.json\": SHA-256 mismatch"}},
      {"sparse-sha256-mismatch.tar",
       {kDataLoss, "entry 5 \"memory-ranges\": SHA-256 mismatch"}},
      {"missing-file.tar",
       {kDataLoss,
        "missing file: snapshot.txtpb lists \"cow.raw\" but the "
        "archive ends without it"}},
      {"truncated.tar", {kDataLoss, "Truncated tar archive"}},
      {"truncated-mid-header.tar",
       {kDataLoss, "entry 2: read header: Truncated tar archive"}},
      {"truncated.tar.zst", {kDataLoss, "decompress"}},
      // Sparse maps.
      {"sparse-overlap.tar",
       {kInvalid, "entry 5 \"cow.raw\": sparse map overlap"}},
      {"sparse-out-of-order.tar",
       {kInvalid, "entry 5 \"cow.raw\": sparse map out of order"}},
      {"sparse-past-size.tar",
       {kInvalid, "entry 5 \"cow.raw\": sparse map past entry size"}},
      {"sparse-far-offset.tar",
       {kInvalid,
        "entry 5 \"cow.raw\": sparse map past entry size: data at "
        "[4611686018427387904, +4096)"}},
      {"sparse-unknown-version.tar",
       {kInvalid, "Unrecognized GNU sparse file format"}},
      // Bombs.
      {"bomb-file-size.tar",
       {kInvalid,
        "manifest rejected: files[3].size_bytes: 18691697672192 "
        "exceeds the limit"}},
      {"bomb-total-size.tar",
       {kInvalid,
        "files[5].size_bytes: the files add up to more than the "
        "total limit"}},
      {"bomb-entry-size.tar",
       {kDataLoss,
        "entry 5 \"cow.raw\": size mismatch: the entry has "
        "4611686018427387904 bytes"}},
      {"bomb-sparse-map.tar.zst", {kInvalid, "entry 5: header too large"}},
      {"bomb-sparse-map.tar.gz", {kInvalid, "entry 5: header too large"}},
      {"bomb-hidden-data.tar.zst",
       {kDataLoss, "missing file: snapshot.txtpb lists \"cow.raw\""}},
      // memory-ranges against state.json.
      {"memory-ranges-short.tar",
       {kInvalid,
        "memory-ranges does not match state.json: memory-ranges is "
        "268435456 bytes but state.json describes 536870912 bytes"}},
      {"memory-ranges-missing.tar",
       {kInvalid,
        "memory-ranges is missing but state.json describes "
        "536870912 bytes"}},
      {"state-json-no-ram.tar",
       {kInvalid,
        "bad state.json: state.json: snapshots.memory-manager: "
        "missing"}},
      // Not one plain tar.
      {"not-tar.bin", {kInvalid, "not a tar archive"}},
      {"nested-gzip.tar.gz.gz", {kInvalid, "nested compression (gzip + gzip)"}},
  };
  return *cases;
}

class Staging {
 public:
  Staging() : dir_(tmp_.Join("staging")) {
    EXPECT_EQ(::mkdir(dir_.c_str(), 0700), 0);
    fd_.reset(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  const std::string& dir() const { return dir_; }
  int fd() const { return fd_.get(); }

 private:
  chtools::testing::TempDir tmp_;
  std::string dir_;
  UniqueFd fd_;
};

absl::StatusOr<chtools::Snapshot> Extract(const std::string& path, int dirfd,
                                          const ReadLimits& limits = {}) {
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return absl::NotFoundError(path);
  return ExtractSnapshotArchive(in.get(), "archive", dirfd, limits);
}

TEST(ReaderCorpusTest,
     EveryHostileArchiveIsRefusedWithItsRuleAndLeavesNothing) {
  const std::string dir =
      chtools::testing::RunfilePath("testdata/archive/hostile");
  const std::vector<std::string> files = ListDir(dir);
  ASSERT_FALSE(files.empty());
  for (const std::string& name : files) {
    SCOPED_TRACE(name);
    auto it = HostileCases().find(name);
    ASSERT_NE(it, HostileCases().end())
        << "no expectation for testdata/archive/hostile/" << name;
    Staging staging;
    EXPECT_THAT(Extract(absl::StrCat(dir, "/", name), staging.fd()),
                StatusIs(it->second.code, HasSubstr(it->second.message)));
    EXPECT_THAT(ListDir(staging.dir()), IsEmpty());
  }
  for (const auto& [name, unused] : HostileCases()) {
    EXPECT_TRUE(std::find(files.begin(), files.end(), name) != files.end())
        << "hostile/" << name << " is missing: run make_corpus.py";
  }
}

TEST(ReaderCorpusTest, EveryValidArchiveExtractsExactlyAndStaysSparse) {
  const std::string dir =
      chtools::testing::RunfilePath("testdata/archive/valid");
  const std::vector<std::string> files = ListDir(dir);
  ASSERT_EQ(files.size(), 7u);
  for (const std::string& name : files) {
    SCOPED_TRACE(name);
    Staging staging;
    auto snapshot = Extract(absl::StrCat(dir, "/", name), staging.fd());
    ASSERT_THAT(snapshot, IsOk());
    EXPECT_EQ(snapshot->id(), "0123456789abcdef");
    EXPECT_THAT(CheckSnapshotDir(staging.dir(), *snapshot), IsOk());
    // Holes stay holes, even when the archive stored them as zeros
    // (direct-dense-ram: 512 MiB of memory-ranges written densely).
    auto allocated = AllocatedBytes(staging.dir() + "/memory-ranges");
    ASSERT_THAT(allocated, IsOk());
    EXPECT_LT(*allocated, uint64_t{1} << 20);
  }
}

TEST(ReaderTest, NamesTheSourceAndTheEntryInErrors) {
  Staging staging;
  UniqueFd in(::open(
      chtools::testing::RunfilePath("testdata/archive/hostile/setuid.tar")
          .c_str(),
      O_RDONLY | O_CLOEXEC));
  EXPECT_THAT(
      ExtractSnapshotArchive(in.get(), "/backups/web-1.tar", staging.fd()),
      StatusIs(kInvalid,
               ::testing::StartsWith("/backups/web-1.tar: entry 2: set-id or "
                                     "sticky bit: mode 4755")));
}

TEST(ReaderTest, NeverTouchesAFileAlreadyInTheStagingDirectory) {
  Staging staging;
  const std::string planted = staging.dir() + "/cow.raw";
  ASSERT_EQ(::symlink("/etc/passwd", planted.c_str()), 0);
  EXPECT_THAT(Extract(chtools::testing::RunfilePath(
                          "testdata/archive/valid/direct.tar"),
                      staging.fd()),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("entry 5 \"cow.raw\": create cow.raw")));
  EXPECT_THAT(ListDir(staging.dir()), ElementsAre("cow.raw"));
  struct stat st;
  ASSERT_EQ(::lstat(planted.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST(ReaderTest, EnforcesTheLimitsItIsGiven) {
  const std::string direct =
      chtools::testing::RunfilePath("testdata/archive/valid/direct.tar");
  struct Case {
    ReadLimits limits;
    std::string message;
  };
  std::vector<Case> cases(5);
  cases[0].limits.max_entries = 3;
  cases[0].message = "entry 4: too many entries: the limit is 3";
  cases[1].limits.max_manifest_bytes = 100;
  cases[1].message = "manifest too large";
  cases[2].limits.max_extents = 2;
  cases[2].message = "entry 4 \"memory-ranges\": sparse map too long: 3";
  cases[3].limits.max_file_bytes = 1 << 20;
  cases[3].message = "files[2].size_bytes: 536870912 exceeds the limit";
  cases[4].limits.max_header_bytes = 1000;
  cases[4].message = "header too large: more than 1000 bytes";
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    Staging staging;
    EXPECT_THAT(Extract(direct, staging.fd(), c.limits),
                StatusIs(kInvalid, HasSubstr(c.message)));
    EXPECT_THAT(ListDir(staging.dir()), IsEmpty());
  }
}

}  // namespace
}  // namespace chtools::archive
