// Golden tests of ch-launch's core: testdata/ch-launch/<case>.in.txtpb is fed
// to Run() as a stream for the command named by the case's prefix
// ("create_..."); the records and error lines it produces (temp paths as /T,
// timestamps cleared) must equal <case>.out.txtpb. Rewrite with
// UPDATE_GOLDEN=1 bazel run //tools/ch-launch:ch_launch_test.
#include "tools/ch-launch/ch_launch.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/cli/output.h"
#include "lib/cli/stream.h"
#include "lib/index/index.h"
#include "lib/process/spawn.h"
#include "lib/record/textproto.h"
#include "lib/testing/golden.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace ch_launch {
namespace {

namespace t = ::chtools::testing;
constexpr char kDir[] = "testdata/ch-launch";

class ChLaunchGoldenTest : public ::testing::TestWithParam<std::string> {};

void Touch(const std::string& path) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  std::ofstream(path) << std::string(1 << 20, '\0');
}

TEST_P(ChLaunchGoldenTest, MatchesGolden) {
  const std::string name = GetParam();
  t::TempDir tmp("/tmp");  // the VMs' socket paths must fit in sun_path
  const std::string T = tmp.path();
  for (const char* f : {"img/aaaa.erofs", "img/bbbb.erofs", "img/cccc/vmlinuz",
                        "img/dddd/initrd.img", "img/CLOUDHV.fd"}) {
    Touch(T + "/" + f);
  }
  auto made = chtools::process::RunCommand(
      {"qemu-img", "create", "-q", "-f", "qcow2", T + "/img/eeee.qcow2", "1G"});
  ASSERT_TRUE(made.ok() && made->exit.exited() && made->exit.code() == 0);
  std::filesystem::create_directories(T + "/root");

  ASSERT_OK_AND_ASSIGN(
      std::string in,
      t::ReadFile(t::RunfilePath(absl::StrCat(kDir, "/", name, ".in.txtpb"))));
  in = absl::StrReplaceAll(in, {{"\"/T/", absl::StrCat("\"", T, "/")}});
  const std::string in_path = T + "/in.txtpb";
  std::ofstream(in_path) << in;
  int fd = ::open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);

  chtools::ToolConfig config;
  config.set_root_dir(T + "/root");
  config.set_run_dir(T + "/run");
  config.set_log_dir(T + "/log");
  config.set_ch_binary("cloud-hypervisor");
  config.add_dns("8.8.8.8");
  config.add_dns("1.1.1.1");
  ASSERT_OK_AND_ASSIGN(auto index,
                       chtools::index::Index::Open(config.root_dir()));
  chtools::vm::Env env;
  env.config = config;
  env.host = {.cpus = 4, .hugepages = false};
  env.index = index.get();
  Options options;
  options.command = name.substr(0, name.find('_'));
  absl::StatusOr<chtools::cli::Batch> batch =
      ch_launch::Run(env, options, chtools::cli::FromFd(fd, false));
  ::close(fd);
  ASSERT_OK(batch.status());
  chtools::cli::Batch& r = *batch;

  for (chtools::Vm& vm : *r.out.mutable_vm()) {
    vm.clear_created_at();
    vm.clear_updated_at();
  }
  std::string got = chtools::record::FormatRecords(r.out);
  for (const std::string& e : r.errors)
    absl::StrAppend(&got, "# error: ", e, "\n");
  got = absl::StrReplaceAll(got, {{T, "/T"}});

  const std::string golden = absl::StrCat(kDir, "/", name, ".out.txtpb");
  if (t::UpdatingGoldens()) {
    ASSERT_OK(t::WriteGolden(golden, got));
    return;
  }
  ASSERT_OK_AND_ASSIGN(std::string want, t::ReadFile(t::RunfilePath(golden)));
  EXPECT_EQ(got, want);

  // Failed creates leave nothing: exactly one record per printed VM.
  ASSERT_OK_AND_ASSIGN(auto all, index->List());
  EXPECT_EQ(all.size(), static_cast<size_t>(r.out.vm_size()));
  std::error_code ec;
  size_t dirs = 0;
  for (auto it =
           std::filesystem::directory_iterator(T + "/run/cloudhypervisor", ec);
       !ec && it != std::filesystem::directory_iterator(); ++it) {
    ++dirs;
  }
  EXPECT_EQ(dirs, static_cast<size_t>(r.out.vm_size()));
}

INSTANTIATE_TEST_SUITE_P(Cases, ChLaunchGoldenTest,
                         ::testing::ValuesIn(t::ListCases(kDir, ".in.txtpb")),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace ch_launch
