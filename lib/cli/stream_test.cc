#include "lib/cli/stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/unique_fd.h"
#include "lib/cli/output.h"
#include "lib/cli/tool.h"
#include "lib/testing/status_matchers.h"

namespace chtools::cli {
namespace {

using ::chtools::testing::IsOkAndHolds;
using ::chtools::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A pipe whose read end holds `text`, read through FromFd.
Stdin Piped(const std::string& text, int* fd) {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
  EXPECT_EQ(::write(p[1], text.data(), text.size()),
            static_cast<ssize_t>(text.size()));
  ::close(p[1]);
  *fd = p[0];
  return FromFd(p[0], false);
}

TEST(StreamTest, DashOrNoRefsOffATerminalMeanTheStream) {
  Stdin tty{.read = nullptr, .is_tty = true};
  Stdin pipe{.read = nullptr, .is_tty = false};
  EXPECT_THAT(WantsStream("start", {"-"}, tty), IsOkAndHolds(true));
  EXPECT_THAT(WantsStream("start", {}, pipe), IsOkAndHolds(true));
  EXPECT_THAT(WantsStream("start", {}, tty), IsOkAndHolds(false));
  EXPECT_THAT(WantsStream("start", {"web"}, pipe), IsOkAndHolds(false));
  absl::StatusOr<bool> mixed = WantsStream("start", {"web", "-"}, pipe);
  EXPECT_TRUE(IsUsageStatus(mixed.status()));
}

TEST(StreamTest, RefsComeFromArgsOrTheRecords) {
  int fd;
  Stdin in = Piped(
      "vm { id: \"3f9c0a1b2c3d4e5f\" }\nvm { config { name: \"web\" } }\n",
      &fd);
  EXPECT_THAT(RefsOrStream("stop", {}, in),
              IsOkAndHolds(ElementsAre("3f9c0a1b2c3d4e5f", "web")));
  ::close(fd);
  EXPECT_THAT(
      RefsOrStream("stop", {"a", "b"}, Stdin{.read = nullptr, .is_tty = true}),
      IsOkAndHolds(ElementsAre("a", "b")));
  EXPECT_TRUE(IsUsageStatus(
      RefsOrStream("stop", {}, Stdin{.read = nullptr, .is_tty = true})
          .status()));
}

TEST(StreamTest, AMalformedStreamIsBadInputNotUsage) {
  absl::StatusOr<std::vector<std::string>> refs =
      RefsOrStream("stop", {"-"}, FromText("vm { bogus: 1 }\n"));
  EXPECT_THAT(refs.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                      HasSubstr("<stdin>:1:")));
  EXPECT_FALSE(IsUsageStatus(refs.status()));
  EXPECT_EQ(ExitCode(refs.status()), kExitFailed);
}

TEST(StreamTest, RefsThatNoVmCouldHaveAreRefusedNamingTheField) {
  EXPECT_THAT(
      RefsOrStream("stop", {"-"}, FromText("vm { id: \"../../etc\" }\n")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("<stdin>: vm[0].id: \"../../etc\" (9 bytes) is not "
                         "an id")));
  // Shown escaped and cut: neither terminal control nor a flood.
  std::string name = "\x1b]0;x\x07" + std::string(100000, 'a');
  absl::StatusOr<std::vector<std::string>> refs = RefsOrStream(
      "stop", {"-"},
      FromText(absl::StrCat("vm { config { name: \"", name, "\" } }\n")));
  EXPECT_THAT(refs.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("vm[0].config.name: \"\\x1b]0;x\\x07aaa")));
  EXPECT_THAT(refs.status().message(), HasSubstr("...\" (100006 bytes)"));
  EXPECT_LT(refs.status().message().size(), 300u);
}

TEST(StreamTest, SnapshotRefsAreCheckedLikeVmRefs) {
  Stdin in = FromText("");
  Records r;
  r.add_snapshot()->set_id("0123456789abcdef");
  r.add_snapshot()->set_name("nightly");
  EXPECT_THAT(SnapshotRefs(r, in),
              IsOkAndHolds(ElementsAre("0123456789abcdef", "nightly")));
  r.add_snapshot()->set_id("../x\x1b[2J");
  EXPECT_THAT(SnapshotRefs(r, in),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("<stdin>: snapshot[2].id: \"../x\\x1b[2J\"")));
  r.mutable_snapshot(2)->clear_id();
  EXPECT_THAT(SnapshotRefs(r, in),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("snapshot[2] has neither an id nor a name")));
}

TEST(StreamTest, TooManyRecordsAreRefusedBeforeAnyIsBuilt) {
  std::string text;
  for (size_t i = 0; i <= kMaxStreamRecords; ++i) text += "vm {}\n";
  EXPECT_THAT(ReadStream(FromText(text)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("<stdin>: more than 100000 records")));
  text.resize(text.size() - 6);
  EXPECT_TRUE(ReadStream(FromText(text)).ok());
}

TEST(OutputTest, VmErrorShowsAHostileNameEscapedAndCut) {
  std::string e = VmError("a\x1b[2J" + std::string(1000, 'b'), "create",
                          absl::InvalidArgumentError("why"));
  EXPECT_THAT(e, HasSubstr("vm \"a\\x1b[2Jbbb"));
  EXPECT_THAT(e, HasSubstr("...\": create: why"));
  EXPECT_LT(e.size(), 120u);
}

TEST(OutputTest, VmErrorKeepsMessagesThatNameTheVm) {
  EXPECT_EQ(
      VmError("web", "start", absl::NotFoundError("vm \"web\": not found")),
      "vm \"web\": not found");
  EXPECT_EQ(VmError("web", "start", absl::InternalError("boom")),
            "vm \"web\": start: boom");
}

}  // namespace
}  // namespace chtools::cli
