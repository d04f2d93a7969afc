// Golden tests for vm-index, run through the real binary (argv[1]) on a fresh
// temporary root per case. A case <c> in testdata/vm-index/ is:
//   <c>.args          the command line after "vm-index" (first non-comment
//                     line; '#' lines are comments) and optionally a line
//                     "exit N" (default 0)
//   <c>.setup.txtpb   optional: records put into the index first
//   <c>.in.txtpb      optional: stdin of the command (else empty)
//   <c>.out.txtpb     expected stdout, compared as parsed Records
//   <c>.out.txt       or expected stdout compared byte for byte (table, json)
//                     (neither file: stdout must be empty)
//   <c>.err           expected stderr (absent: must be empty)
//   <c>.after.txtpb   optional: what `vm-index ls` prints afterwards
// Outputs are normalised first: the temporary root becomes $ROOT and any
// RFC 3339 time within the test run becomes "NOW".
// UPDATE_GOLDEN=1 bazel run //tools/vm-index:vm_index_golden_test rewrites
// the expected files from the actual outputs (review the diff!).
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/record/records.pb.h"
#include "lib/record/textproto.h"
#include "lib/record/timestamps.h"
#include "lib/testing/golden.h"
#include "lib/testing/proto_matchers.h"
#include "lib/testing/temp_dir.h"
#include "re2/re2.h"

extern char** environ;

namespace vm_index {
namespace {

using ::chtools::testing::EqualsProto;
using ::chtools::testing::ReadFile;
using ::chtools::testing::RunfilePath;

constexpr char kDir[] = "testdata/vm-index";
std::string* binary = nullptr;

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the binary with `args`, stdin from `stdin_path`, in an environment
// that points every chtools setting at `root`.
Result RunTool(const std::string& root, const std::vector<std::string>& args,
               const std::string& stdin_path) {
  std::string out_path = root + "/.stdout", err_path = root + "/.stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, stdin_path.c_str(), O_RDONLY,
                                   0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> argv_s = {*binary};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = {
      "CHTOOLS_ROOT_DIR=" + root + "/root", "CHTOOLS_RUN_DIR=" + root + "/run",
      "CHTOOLS_LOG_DIR=" + root + "/log",   "CHTOOLS_CONFIG=/dev/null",
      "CHTOOLS_CH_BINARY=cloud-hypervisor", "PATH=/usr/bin:/bin"};
  std::vector<char*> envp;
  for (std::string& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  Result r;
  pid_t pid;
  int rc = posix_spawn(&pid, binary->c_str(), &actions, nullptr, argv.data(),
                       envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    r.err = absl::StrCat("posix_spawn: ", strerror(rc));
    return r;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadFile(out_path).value_or("");
  r.err = ReadFile(err_path).value_or("");
  return r;
}

// $ROOT for the temporary dir, NOW for times within [start, end].
std::string Normalize(std::string text, const std::string& tmp,
                      absl::Time start, absl::Time end) {
  text = absl::StrReplaceAll(text, {{tmp, "$ROOT"}});
  static const re2::RE2 kTime(R"re("(\d{4}-\d\d-\d\dT[0-9:.]+Z)")re");
  std::string result;
  re2::StringPiece input(text);
  std::string match;
  const char* last = text.c_str();
  const char* text_end = text.c_str() + text.size();
  while (re2::RE2::FindAndConsume(&input, kTime, &match)) {
    const char* match_end = input.data();
    const char* match_begin = match_end - match.size() - 2;
    result.append(last, match_begin);
    absl::StatusOr<absl::Time> t = chtools::record::ParseTime(match);
    if (t.ok() && *t >= start - absl::Minutes(1) &&
        *t <= end + absl::Minutes(1)) {
      result += "\"NOW\"";
    } else {
      result.append(match_begin, match_end);
    }
    last = match_end;
  }
  result.append(last, text_end);
  return result;
}

struct CaseSpec {
  std::vector<std::string> args;
  int exit_code = 0;
};

CaseSpec ParseArgsFile(const std::string& text) {
  CaseSpec spec;
  bool have_args = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    if (absl::ConsumePrefix(&line, "exit ")) {
      spec.exit_code = std::stoi(std::string(line));
    } else if (!have_args) {
      spec.args = absl::StrSplit(line, ' ', absl::SkipEmpty());
      have_args = true;
    }
  }
  return spec;
}

bool Exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

void CompareRecords(const std::string& what, const std::string& actual,
                    const std::string& expected_file) {
  std::string rel = absl::StrCat(kDir, "/", expected_file);
  if (chtools::testing::UpdatingGoldens()) {
    ASSERT_TRUE(chtools::testing::WriteGolden(rel, actual).ok());
    return;
  }
  absl::StatusOr<std::string> want_text = ReadFile(RunfilePath(rel));
  ASSERT_TRUE(want_text.ok()) << want_text.status();
  absl::StatusOr<chtools::Records> want =
      chtools::record::ParseRecords(*want_text, rel);
  ASSERT_TRUE(want.ok()) << want.status();
  absl::StatusOr<chtools::Records> got =
      chtools::record::ParseRecords(actual, what);
  ASSERT_TRUE(got.ok()) << got.status() << "\n" << actual;
  EXPECT_THAT(*got, EqualsProto(*want)) << what << ":\n" << actual;
}

void CompareText(const std::string& what, const std::string& actual,
                 const std::string& expected_file) {
  std::string rel = absl::StrCat(kDir, "/", expected_file);
  std::string path = RunfilePath(rel);
  if (chtools::testing::UpdatingGoldens()) {
    if (!actual.empty()) {
      ASSERT_TRUE(chtools::testing::WriteGolden(rel, actual).ok());
    }
    return;
  }
  std::string want =
      Exists(path) ? ReadFile(path).value_or("<unreadable>") : "";
  EXPECT_EQ(actual, want) << what;
}

class VmIndexGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(VmIndexGoldenTest, Case) {
  const std::string c = GetParam();
  const std::string base = RunfilePath(absl::StrCat(kDir, "/", c));
  chtools::testing::TempDir tmp;
  ASSERT_EQ(::mkdir((tmp.path() + "/root").c_str(), 0750), 0);
  absl::Time start = absl::Now();

  absl::StatusOr<std::string> args_text = ReadFile(base + ".args");
  ASSERT_TRUE(args_text.ok()) << args_text.status();
  CaseSpec spec = ParseArgsFile(*args_text);

  if (Exists(base + ".setup.txtpb")) {
    Result setup = RunTool(tmp.path(), {"put"}, base + ".setup.txtpb");
    ASSERT_EQ(setup.exit_code, 0) << setup.err;
  }
  std::string in =
      Exists(base + ".in.txtpb") ? base + ".in.txtpb" : "/dev/null";
  Result r = RunTool(tmp.path(), spec.args, in);
  absl::Time end = absl::Now();
  std::string out = Normalize(r.out, tmp.path(), start, end);
  std::string err = Normalize(r.err, tmp.path(), start, end);

  EXPECT_EQ(r.exit_code, spec.exit_code) << "stderr:\n" << r.err;
  if (Exists(base + ".out.txtpb") ||
      (chtools::testing::UpdatingGoldens() &&
       absl::StartsWith(out, chtools::record::kRecordsHeader))) {
    CompareRecords("stdout", out, c + ".out.txtpb");
  } else {
    CompareText("stdout", out, c + ".out.txt");
  }
  CompareText("stderr", err, c + ".err");

  if (Exists(base + ".after.txtpb")) {
    Result after =
        RunTool(tmp.path(), {"ls", "--format=textproto"}, "/dev/null");
    ASSERT_EQ(after.exit_code, 0) << after.err;
    CompareRecords("ls afterwards",
                   Normalize(after.out, tmp.path(), start, absl::Now()),
                   c + ".after.txtpb");
  }
}

std::vector<std::string> Cases() {
  std::vector<std::string> cases = chtools::testing::ListCases(kDir, ".args");
  if (cases.empty()) cases.push_back("NO_CASES_FOUND");
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Goldens, VmIndexGoldenTest,
                         ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& ch : name) {
                             if (!isalnum(static_cast<unsigned char>(ch)))
                               ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace vm_index

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <path of vm-index>\n", argv[0]);
    return 2;
  }
  static std::string path = std::filesystem::absolute(argv[1]).string();
  vm_index::binary = &path;
  return RUN_ALL_TESTS();
}
