#include "lib/record/textproto.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/record/records.pb.h"
#include "lib/testing/proto_matchers.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::record {
namespace {

using ::chtools::testing::EqualsProto;
using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

Records Sample() {
  Records r;
  Vm* vm = r.add_vm();
  vm->set_id("3f9c0a1b2c3d4e5f");
  vm->set_state(Vm::RUNNING);
  vm->mutable_config()->set_name("web");
  vm->mutable_config()->set_cpu(2);
  vm->mutable_config()->set_memory_bytes(1073741824);
  StorageConfig* disk = vm->add_storage();
  disk->set_path("/var/lib/chtools/run/cow.raw");
  disk->set_serial("cocoon-cow");
  NetworkConfig* nic = vm->add_network();
  nic->set_tap("tap0");
  nic->mutable_ipv4()->set_ip("10.88.0.5");
  nic->mutable_ipv4()->set_prefix(16);
  r.add_finding()->set_kind("dangling-name");
  return r;
}

// The exact bytes every tool prints: changing them changes every golden file
// and every downstream script, so they are pinned here.
TEST(FormatRecordsTest, PinsExactBytes) {
  EXPECT_EQ(FormatRecords(Sample()),
            "# proto-file: lib/record/records.proto\n"
            "# proto-message: chtools.Records\n"
            "vm {\n"
            "  id: \"3f9c0a1b2c3d4e5f\"\n"
            "  state: RUNNING\n"
            "  config {\n"
            "    name: \"web\"\n"
            "    cpu: 2\n"
            "    memory_bytes: 1073741824\n"
            "  }\n"
            "  storage {\n"
            "    path: \"/var/lib/chtools/run/cow.raw\"\n"
            "    serial: \"cocoon-cow\"\n"
            "  }\n"
            "  network {\n"
            "    tap: \"tap0\"\n"
            "    ipv4 {\n"
            "      ip: \"10.88.0.5\"\n"
            "      prefix: 16\n"
            "    }\n"
            "  }\n"
            "}\n"
            "finding {\n"
            "  kind: \"dangling-name\"\n"
            "}\n");
}

TEST(FormatRecordsTest, EmptyStreamIsJustTheHeader) {
  EXPECT_EQ(FormatRecords(Records()), kRecordsHeader);
  ASSERT_OK_AND_ASSIGN(Records parsed, ParseRecords(kRecordsHeader, "<x>"));
  EXPECT_EQ(parsed.vm_size(), 0);
}

// A record decoded from binary written by a newer version carries fields
// this one does not know: printing leaves them out, so the text parses.
TEST(FormatRecordsTest, UnknownFieldsAreLeftOutSoTheTextParses) {
  Records with_unknown = Sample();
  // Field 9914 (varint 98) of the first VM: unknown to records.proto.
  with_unknown.mutable_vm(0)
      ->GetReflection()
      ->MutableUnknownFields(with_unknown.mutable_vm(0))
      ->AddVarint(9914, 98);
  std::string text = FormatRecords(with_unknown);
  EXPECT_THAT(text, Not(HasSubstr("9914")));
  ASSERT_OK_AND_ASSIGN(Records parsed, ParseRecords(text, "<x>"));
  EXPECT_THAT(parsed, EqualsProto(Sample()));
}

TEST(ParseRecordsTest, RoundTrips) {
  ASSERT_OK_AND_ASSIGN(Records parsed,
                       ParseRecords(FormatRecords(Sample()), "<stdin>"));
  EXPECT_THAT(parsed, EqualsProto(Sample()));
}

TEST(ParseRecordsTest, ConcatenatedStreamsParseToConcatenation) {
  Records a = Sample();
  Records b;
  b.add_vm()->set_id("00000000000000aa");
  b.add_finding()->set_kind("stale-creating");
  Records want = a;
  want.MergeFrom(b);
  ASSERT_OK_AND_ASSIGN(
      Records parsed,
      ParseRecords(FormatRecords(a) + FormatRecords(b), "<stdin>"));
  EXPECT_THAT(parsed, EqualsProto(want));
  EXPECT_EQ(parsed.vm_size(), 2);
  EXPECT_EQ(parsed.vm(1).id(), "00000000000000aa");
}

TEST(ParseRecordsTest, ErrorShowsLineColumnAndCaret) {
  std::string text =
      "# proto-file: lib/record/records.proto\n"
      "vm {\n"
      "  id: \"abc\"\n"
      "  state: SLEEPING\n"
      "}\n";
  EXPECT_THAT(
      ParseRecords(text, "<stdin>"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "<stdin>:4:10: Unknown enumeration value of \"SLEEPING\" for "
               "field \"state\".\n"
               "  state: SLEEPING\n"
               "         ^"));
}

TEST(ParseRecordsTest, ALongLineIsShownAsAWindowAroundTheError) {
  std::string text = "";
  for (int i = 0; i < 100000; ++i) text += "vm { ";
  absl::StatusOr<Records> r = ParseRecords(text, "<stdin>");
  EXPECT_THAT(r.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("<stdin>:1:6: Message type \"chtools.Vm\" "
                                 "has no field named \"vm\".\nvm { vm {")));
  EXPECT_THAT(r.status().message(), HasSubstr(" ...\n     ^"));
  EXPECT_LT(r.status().message().size(), 300u);
  // Far into the line: "..." on both sides, the caret under the token.
  std::string far =
      std::string(5000, ' ') + "vm { bogus: 1 }" + std::string(5000, ' ');
  r = ParseRecords(far, "<stdin>");
  EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("<stdin>:1:5006:")));
  EXPECT_THAT(r.status().message(),
              HasSubstr("\n..." + std::string(75, ' ') + "vm { bogus: 1 }"));
  EXPECT_THAT(r.status().message(),
              HasSubstr("\n" + std::string(83, ' ') + "^"));
}

TEST(CountTopLevelMessagesTest, CountsRecordsWithoutParsing) {
  EXPECT_EQ(CountTopLevelMessages("", 10), 0u);
  EXPECT_EQ(CountTopLevelMessages(
                "vm { config { name: \"{\" } }  # {\nsnapshot <>\n", 10),
            2u);
  EXPECT_EQ(CountTopLevelMessages("vm: [{}, {id: \"x\"}, <>]", 10), 3u);
  EXPECT_EQ(CountTopLevelMessages("vm {} vm {} vm {} vm {}", 2), 3u);
  EXPECT_EQ(CountTopLevelMessages("vm { \"unterminated", 10), 1u);
}

TEST(ParseRecordsTest, UnknownFieldIsAnError) {
  EXPECT_THAT(ParseRecords("vm {\n  colour: \"red\"\n}\n", "in.txtpb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("in.txtpb:2:3: Message type \"chtools.Vm\" "
                                 "has no field named \"colour\".\n"
                                 "  colour: \"red\"\n"
                                 "  ^")));
}

TEST(ParseRecordsTest, RepeatedSingularFieldIsAnError) {
  EXPECT_THAT(ParseRecords("vm { id: \"a\" id: \"b\" }\n", "<stdin>"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "<stdin>:1:14: Non-repeated field \"id\" is specified "
                       "multiple times.\n"
                       "vm { id: \"a\" id: \"b\" }\n"
                       "             ^"));
}

TEST(ParseRecordsTest, BadValuesPointAtTheValue) {
  EXPECT_THAT(ParseRecords("vm { config { cpu: 99999999999 } }", "<stdin>"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "<stdin>:1:20: Integer out of range (99999999999)\n"
                       "vm { config { cpu: 99999999999 } }\n"
                       "                   ^"));
  EXPECT_THAT(ParseRecords("vm { storage { ro: maybe } }", "<stdin>"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("<stdin>:1:20: Invalid value for boolean "
                                 "field \"ro\". Value: \"maybe\".")));
}

TEST(ParseRecordsTest, EndOfInputIsNamed) {
  EXPECT_THAT(ParseRecords("vm {\n", "<stdin>"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "<stdin>:2:1: Expected identifier, got: end of input\n"
                       "\n"
                       "^"));
}

TEST(ParseRecordsTest, CaretFollowsTabs) {
  absl::Status s = ParseRecords("vm {\n\tbogus: 1\n}\n", "<stdin>").status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("<stdin>:2:2: ")));
  EXPECT_THAT(std::string(s.message()), HasSubstr("\n\tbogus: 1\n\t^"));
}

// The offending line is echoed to a terminal: its control characters are
// escaped (tabs kept, for the caret), and the caret still points at the token.
TEST(ParseRecordsTest, EchoedLineIsEscaped) {
  absl::Status s =
      ParseRecords("vm {\n\t\xc3\xa9 \x1b[2J bogus: 1\n}\n", "<stdin>")
          .status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          ::testing::StartsWith("<stdin>:2:2: ")));
  EXPECT_THAT(std::string(s.message()),
              ::testing::EndsWith("\n\t\xc3\xa9 \\x1b[2J bogus: 1\n\t^"));
  s = ParseRecords("vm {\n\tid: \"a\" \x1b[2J\n}\n", "<stdin>").status();
  EXPECT_THAT(std::string(s.message()),
              ::testing::EndsWith("\n\tid: \"a\" \\x1b[2J\n\t        ^"));
}

TEST(ParseRecordsTest, UnterminatedMessageReportsEnd) {
  EXPECT_THAT(
      ParseRecords("vm {\n  id: \"a\"\n", "<stdin>"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("<stdin>:3:1: ")));
}

TEST(ParseMessageTest, ParsesOtherTypesAndClearsOutput) {
  ToolConfig config;
  config.set_ch_binary("stale");
  ASSERT_OK(ParseMessage("root_dir: \"/srv\"\n", "c.txtpb", &config));
  EXPECT_EQ(config.root_dir(), "/srv");
  EXPECT_EQ(config.ch_binary(), "");
  EXPECT_THAT(
      ParseMessage("root: 1\n", "c.txtpb", &config),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("c.txtpb:1:1: ")));
  EXPECT_EQ(FormatMessage(config), "");
  config.set_stop_timeout_seconds(7);
  EXPECT_EQ(FormatMessage(config), "stop_timeout_seconds: 7\n");
}

TEST(ReadWriteRecordsTest, ThroughAFile) {
  chtools::testing::TempDir dir;
  std::string path = dir.Join("r.txtpb");
  int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_OK(WriteRecords(fd, Sample()));
  ASSERT_EQ(::lseek(fd, 0, SEEK_SET), 0);
  ASSERT_OK_AND_ASSIGN(Records back, ReadRecords(fd, path));
  EXPECT_THAT(back, EqualsProto(Sample()));
  ::close(fd);
}

TEST(ReadWriteRecordsTest, LargeStreamThroughAPipe) {
  Records big;
  for (int i = 0; i < 2000; ++i) {
    big.add_vm()->mutable_config()->set_name(absl::StrCat("vm-", i));
  }
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  // Larger than the pipe buffer: write from a child so the parent can read.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    _exit(WriteRecords(fds[1], big).ok() ? 0 : 1);
  }
  ::close(fds[1]);
  ASSERT_OK_AND_ASSIGN(Records back, ReadRecords(fds[0], "<pipe>"));
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_EQ(status, 0);
  EXPECT_THAT(back, EqualsProto(big));
}

TEST(ReadRecordsTest, ReadErrorNamesSource) {
  EXPECT_THAT(ReadRecords(-1, "<stdin>"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "read <stdin>: Bad file descriptor"));
}

}  // namespace
}  // namespace chtools::record
