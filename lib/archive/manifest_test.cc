#include "lib/archive/manifest.h"

#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/record/records.pb.h"
#include "lib/testing/proto_matchers.h"
#include "lib/testing/status_matchers.h"

namespace chtools::archive {
namespace {

using ::chtools::testing::IsOk;
using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kDigest(64, 'a');

chtools::Snapshot Valid() {
  chtools::Snapshot s;
  s.set_id("0123456789abcdef");
  s.set_created_at("2026-01-02T03:04:05Z");
  for (const char* name :
       {"config.json", "state.json", "memory-ranges", "cow.raw"}) {
    chtools::SnapshotFile* f = s.add_files();
    f->set_name(name);
    f->set_size_bytes(4096);
    f->set_sha256(kDigest);
  }
  return s;
}

TEST(ManifestTest, FormatsARecordsStreamWithTheHeaderAndParsesItBack) {
  const std::string text = FormatManifest(Valid());
  EXPECT_THAT(text, StartsWith("# proto-file: lib/record/records.proto\n"
                               "# proto-message: chtools.Records\n"
                               "snapshot {\n"));
  auto parsed = ParseManifest(text, "snapshot.txtpb");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_THAT(*parsed, chtools::testing::EqualsProto(Valid()));
}

TEST(ManifestTest, ParseWantsExactlyOneValidSnapshot) {
  EXPECT_THAT(ParseManifest("snapshot {", "snapshot.txtpb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("snapshot.txtpb:1:")));
  EXPECT_THAT(ParseManifest("", "snapshot.txtpb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("exactly one snapshot record")));
  const std::string one = FormatManifest(Valid());
  EXPECT_THAT(ParseManifest(one + one, "snapshot.txtpb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("has 2 snapshot")));
  EXPECT_THAT(
      ParseManifest(one + "vm { id: \"0123456789abcdef\" }", "snapshot.txtpb"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 vm")));
  chtools::Snapshot bad = Valid();
  bad.set_id("x");
  EXPECT_THAT(ParseManifest(FormatManifest(bad), "snapshot.txtpb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("snapshot.txtpb: snapshot[0].id")));
}

TEST(CheckManifestTest, AcceptsEverySnapshotFileOnce) {
  EXPECT_THAT(CheckManifest(Valid(), {}), IsOk());
  chtools::Snapshot cloud = Valid();
  cloud.mutable_files()->DeleteSubrange(3, 1);
  for (const char* name : {"overlay.qcow2", "cidata.img"}) {
    chtools::SnapshotFile* f = cloud.add_files();
    f->set_name(name);
    f->set_sha256(kDigest);
  }
  EXPECT_THAT(CheckManifest(cloud, {}), IsOk());
  EXPECT_TRUE(IsSnapshotFileName("memory-ranges"));
  EXPECT_FALSE(IsSnapshotFileName("memory-ranges-0"));
  EXPECT_FALSE(IsSnapshotFileName("snapshot.txtpb"));
}

TEST(CheckManifestTest, NamesEachBrokenRule) {
  struct Case {
    std::function<void(chtools::Snapshot&)> mutate;
    std::string message;
  };
  const Case cases[] = {
      {[](auto& s) { s.mutable_files(3)->set_name("evil.sh"); },
       "files[3].name: \"evil.sh\" is not an allowed snapshot file"},
      {[](auto& s) { s.mutable_files(3)->set_name("snapshot.txtpb"); },
       "not an allowed snapshot file"},
      {[](auto& s) { s.mutable_files(3)->set_name("config.json"); },
       "files[3].name: \"config.json\" is listed twice"},
      {[](auto& s) { s.mutable_files(2)->clear_sha256(); },
       "files[2].sha256: \"\" is not 64 lowercase hex"},
      {[](auto& s) { s.mutable_files(2)->set_sha256(std::string(64, 'A')); },
       "files[2].sha256"},
      {[](auto& s) { s.mutable_files(0)->set_size_bytes(-1); },
       "files[0].size_bytes: is negative"},
      {[](auto& s) { s.mutable_files(3)->set_size_bytes(int64_t{17} << 40); },
       "files[3].size_bytes: 18691697672192 exceeds the limit"},
      {[](auto& s) { s.mutable_files(1)->set_size_bytes(int64_t{65} << 20); },
       "files[1].size_bytes: 68157440 exceeds the limit of 67108864 bytes for "
       "\"state.json\""},
      {[](auto& s) {
         s.mutable_files(2)->set_size_bytes(int64_t{16} << 40);
         s.mutable_files(3)->set_size_bytes(int64_t{16} << 40);
       },
       "files[3].size_bytes: the files add up to more than the total limit"},
      {[](auto& s) { s.mutable_files()->DeleteSubrange(1, 1); },
       "\"state.json\" is missing"},
  };
  for (const Case& c : cases) {
    chtools::Snapshot s = Valid();
    c.mutate(s);
    EXPECT_THAT(
        CheckManifest(s, {}),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
  }
  ReadLimits tight;
  tight.max_total_bytes = 3 * 4096;
  EXPECT_THAT(CheckManifest(Valid(), tight),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("files[3].size_bytes: the files add up")));
}

}  // namespace
}  // namespace chtools::archive
