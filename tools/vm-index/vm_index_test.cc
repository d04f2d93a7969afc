// In-process tests of vm-index's core (Run with injected stdin/stdout) and
// its small parsers; the golden cases and the sh_test cover the binary.
#include "tools/vm-index/vm_index.h"

#include <sys/stat.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/cli/tool.h"
#include "lib/record/records.pb.h"
#include "lib/record/textproto.h"
#include "lib/testing/proto_matchers.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace vm_index {
namespace {

using ::chtools::Records;
using ::chtools::Vm;
using ::chtools::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kTwoVms[] = R"pb(
  vm {
    id: "3f9c0a1b2c3d4e5f"
    state: CREATED
    config {
      name: "web"
      cpu: 2
      memory_bytes: 1073741824
      storage_bytes: 10737418240
    }
  }
  vm {
    id: "3f9d000000000001"
    state: STOPPED
    config {
      name: "db"
      cpu: 1
      memory_bytes: 536870912
      storage_bytes: 10737418240
    }
  }
)pb";

class RunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mkdir(dir_.Join("root").c_str(), 0750), 0);
    options_.config.set_root_dir(dir_.Join("root"));
    options_.config.set_run_dir(dir_.Join("run"));
    options_.config.set_log_dir(dir_.Join("log"));
    options_.config.set_ch_binary("cloud-hypervisor");
  }

  absl::Status RunVerb(const std::string& verb, std::vector<std::string> args,
                       const std::string& stdin_text, Output* out) {
    Options o = options_;
    o.verb = verb;
    o.args = std::move(args);
    Input in = chtools::cli::FromText(stdin_text);
    return vm_index::Run(o, in, out);
  }

  chtools::testing::TempDir dir_;
  Options options_;
};

TEST_F(RunTest, PutThenGetThroughInjectedIo) {
  Output out;
  ASSERT_OK(RunVerb("put", {}, kTwoVms, &out));
  EXPECT_TRUE(out.errors.empty());
  ASSERT_OK(RunVerb("get", {"db"}, "", &out));
  ASSERT_OK_AND_ASSIGN(Records got,
                       chtools::record::ParseRecords(out.text, "out"));
  ASSERT_EQ(got.vm_size(), 1);
  EXPECT_EQ(got.vm(0).id(), "3f9d000000000001");
  EXPECT_EQ(ExitCodeOf(absl::OkStatus(), out), 0);
}

TEST_F(RunTest, BadStreamWritesNothing) {
  Output out;
  std::string bad = std::string(kTwoVms) +
                    "vm { id: \"00000000000000aa\" state: CREATED "
                    "config { name: \"x y\" cpu: 1 memory_bytes: 536870912 "
                    "storage_bytes: 10737418240 } }\n";
  EXPECT_THAT(
      RunVerb("put", {}, bad, &out),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("<stdin>: vm[2].config.name: \"x y\" is invalid")));
  ASSERT_OK(RunVerb("ls", {}, "", &out));
  EXPECT_EQ(out.text, chtools::record::kRecordsHeader);
}

TEST_F(RunTest, PerVmErrorsKeepTheSuccesses) {
  Output out;
  ASSERT_OK(RunVerb("put", {}, kTwoVms, &out));
  ASSERT_OK(RunVerb("get", {"web", "nope"}, "", &out));
  EXPECT_THAT(out.errors, ElementsAre("vm \"nope\": not found"));
  EXPECT_THAT(out.text, HasSubstr("name: \"web\""));
  EXPECT_EQ(ExitCodeOf(absl::OkStatus(), out), 1);
  // Nothing succeeded: stdout stays empty, not even a header.
  ASSERT_OK(RunVerb("get", {"nope"}, "", &out));
  EXPECT_EQ(out.text, "");
}

TEST_F(RunTest, SnapshotsCannotBePut) {
  Output out;
  EXPECT_THAT(RunVerb("put", {}, "snapshot { id: \"00112233445566ff\" }", &out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "<stdin>: snapshot records cannot be put: vm-index "
                       "stores vm records only"));
}

TEST_F(RunTest, UsageErrorsComeBeforeTheIndex) {
  options_.config.set_root_dir(dir_.Join("missing"));
  Output out;
  absl::Status s = RunVerb("ls", {"extra"}, "", &out);
  EXPECT_TRUE(chtools::IsUsageStatus(s)) << s;
  EXPECT_EQ(ExitCodeOf(s, out), 2);
  s = RunVerb("", {}, "", &out);
  EXPECT_TRUE(chtools::IsUsageStatus(s)) << s;
  options_.repair = true;
  s = RunVerb("ls", {}, "", &out);
  EXPECT_TRUE(chtools::IsUsageStatus(s)) << s;
  options_.repair = false;
  // A missing root is made on first use (a fresh host).
  s = RunVerb("ls", {}, "", &out);
  EXPECT_OK(s);
  EXPECT_EQ(ExitCodeOf(s, out), 0);
}

TEST(ParseTest, StatesAndFormats) {
  ASSERT_OK_AND_ASSIGN(auto states, ParseStates("running,STOPPED, error"));
  EXPECT_THAT(states, ElementsAre(Vm::RUNNING, Vm::STOPPED, Vm::ERROR));
  EXPECT_THAT(ParseStates("sleeping"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseStates("state_unspecified"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseFormat("json"),
              chtools::testing::IsOkAndHolds(Format::kJson));
  EXPECT_THAT(ParseFormat("yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(OutputTest, HumanBytes) {
  EXPECT_EQ(HumanBytes(512), "512");
  EXPECT_EQ(HumanBytes(536870912), "512M");
  EXPECT_EQ(HumanBytes(1073741824), "1G");
  EXPECT_EQ(HumanBytes(1610612736), "1.5G");
  EXPECT_EQ(HumanBytes(10737418240), "10G");
}

// Findings carry paths from directory listings and details with record
// text: every cell of the table is escaped, and columns line up by
// characters, not bytes.
TEST(OutputTest, TableEscapesEveryCell) {
  chtools::Records records;
  chtools::Finding* f = records.add_finding();
  f->set_kind("bad-record");
  f->set_path("/db/vms/\x1b]0;pwned\x07.pb");
  f->set_detail("line one\nKIND  VM  forged");
  chtools::Finding* g = records.add_finding();
  g->set_kind("dangling-name");
  g->set_path("/db/names/caf\xc3\xa9");
  g->set_detail("d");
  absl::StatusOr<std::string> table = FormatOutput(records, Format::kTable);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(
      *table,
      "KIND           VM  PATH                         REPAIRED  DETAIL\n"
      "bad-record     -   /db/vms/\\x1b]0;pwned\\x07.pb  no        "
      "line one\\nKIND  VM  forged\n"
      "dangling-name  -   /db/names/caf\xc3\xa9               no        d\n");
}

}  // namespace
}  // namespace vm_index
