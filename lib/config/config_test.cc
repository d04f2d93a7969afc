#include "lib/config/config.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::config {
namespace {

using ::chtools::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class LoadToolConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name :
         {"CHTOOLS_ROOT_DIR", "CHTOOLS_RUN_DIR", "CHTOOLS_LOG_DIR",
          "CHTOOLS_CH_BINARY", "CHTOOLS_CONFIG", "CHTOOLS_NO_SECCOMP"}) {
      ::unsetenv(name);
    }
    for (auto* flag : {&FLAGS_root_dir, &FLAGS_run_dir, &FLAGS_log_dir,
                       &FLAGS_ch_binary, &FLAGS_config}) {
      absl::SetFlag(flag, "");
    }
    absl::SetFlag(&FLAGS_no_seccomp, false);
  }

  // Writes a config file and returns its path.
  std::string WriteConfig(const std::string& text) {
    std::string path = dir_.Join("config.txtpb");
    std::ofstream(path) << text;
    return path;
  }

  chtools::testing::TempDir dir_;
};

TEST_F(LoadToolConfigTest, Defaults) {
  if (::access(std::string(kDefaultConfigPath).c_str(), F_OK) == 0) {
    GTEST_SKIP() << "this machine has " << kDefaultConfigPath;
  }
  ASSERT_OK_AND_ASSIGN(ToolConfig c, LoadToolConfig());
  EXPECT_EQ(c.root_dir(), "/var/lib/chtools");
  EXPECT_EQ(c.run_dir(), "/var/lib/chtools/run");
  EXPECT_EQ(c.log_dir(), "/var/log/chtools");
  EXPECT_EQ(c.ch_binary(), "cloud-hypervisor");
  EXPECT_EQ(c.stop_timeout_seconds(), 30);
  EXPECT_EQ(c.terminate_grace_seconds(), 5);
  EXPECT_EQ(c.socket_wait_seconds(), 5);
  EXPECT_THAT(c.dns(), ElementsAre("8.8.8.8", "1.1.1.1"));
}

TEST_F(LoadToolConfigTest, NoSeccompFromFlagEnvOrFile) {
  ::setenv("CHTOOLS_CONFIG", "/dev/null", 1);
  ASSERT_OK_AND_ASSIGN(ToolConfig c, LoadToolConfig());
  EXPECT_FALSE(c.no_seccomp());

  std::string path = WriteConfig("no_seccomp: true\n");
  ::setenv("CHTOOLS_CONFIG", path.c_str(), 1);
  ASSERT_OK_AND_ASSIGN(c, LoadToolConfig());
  EXPECT_TRUE(c.no_seccomp());
  // The environment overrides the file, both ways.
  ::setenv("CHTOOLS_NO_SECCOMP", "0", 1);
  ASSERT_OK_AND_ASSIGN(c, LoadToolConfig());
  EXPECT_FALSE(c.no_seccomp());
  // The flag wins over the environment.
  absl::SetFlag(&FLAGS_no_seccomp, true);
  ASSERT_OK_AND_ASSIGN(c, LoadToolConfig());
  EXPECT_TRUE(c.no_seccomp());

  absl::SetFlag(&FLAGS_no_seccomp, false);
  ::setenv("CHTOOLS_CONFIG", "/dev/null", 1);
  ::setenv("CHTOOLS_NO_SECCOMP", "1", 1);
  ASSERT_OK_AND_ASSIGN(c, LoadToolConfig());
  EXPECT_TRUE(c.no_seccomp());
  ::setenv("CHTOOLS_NO_SECCOMP", "yes please", 1);
  EXPECT_THAT(LoadToolConfig(), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("CHTOOLS_NO_SECCOMP")));
}

TEST_F(LoadToolConfigTest, PrecedenceFlagOverEnvOverFileOverDefault) {
  absl::SetFlag(&FLAGS_config, WriteConfig(R"pb(
    root_dir: "/file/root"
    run_dir: "/file/run"
    log_dir: "/file/log"
    ch_binary: "/file/ch"
    stop_timeout_seconds: 9
    dns: "9.9.9.9"
  )pb"));
  ::setenv("CHTOOLS_RUN_DIR", "/env/run", 1);
  ::setenv("CHTOOLS_LOG_DIR", "/env/log", 1);
  ::setenv("CHTOOLS_CH_BINARY", "/env/ch", 1);
  absl::SetFlag(&FLAGS_ch_binary, "/flag/ch");
  ASSERT_OK_AND_ASSIGN(ToolConfig c, LoadToolConfig());
  EXPECT_EQ(c.root_dir(), "/file/root");  // file only
  EXPECT_EQ(c.run_dir(), "/env/run");     // env over file
  EXPECT_EQ(c.log_dir(), "/env/log");
  EXPECT_EQ(c.ch_binary(), "/flag/ch");  // flag over env over file
  EXPECT_EQ(c.stop_timeout_seconds(), 9);
  EXPECT_EQ(c.terminate_grace_seconds(), 5);     // default kept
  EXPECT_THAT(c.dns(), ElementsAre("9.9.9.9"));  // list replaced, not appended
}

TEST_F(LoadToolConfigTest, ConfigPathFromEnv) {
  ::setenv("CHTOOLS_CONFIG",
           WriteConfig("root_dir: \"/from/env/file\"\n").c_str(), 1);
  ASSERT_OK_AND_ASSIGN(ToolConfig c, LoadToolConfig());
  EXPECT_EQ(c.root_dir(), "/from/env/file");
  EXPECT_EQ(c.run_dir(), "/from/env/file/run");  // run dir follows the root
}

TEST_F(LoadToolConfigTest, RootFromEnvAndRunDirFollowsIt) {
  ::setenv("CHTOOLS_CONFIG", WriteConfig("").c_str(), 1);
  ::setenv("CHTOOLS_ROOT_DIR", "/tmp/r/", 1);
  ASSERT_OK_AND_ASSIGN(ToolConfig c, LoadToolConfig());
  EXPECT_EQ(c.root_dir(), "/tmp/r");
  EXPECT_EQ(c.run_dir(), "/tmp/r/run");
}

TEST_F(LoadToolConfigTest, RelativeDirsBecomeAbsolute) {
  ::setenv("CHTOOLS_CONFIG", WriteConfig("").c_str(), 1);
  absl::SetFlag(&FLAGS_root_dir, "rel/root");
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof(cwd)), nullptr);
  ASSERT_OK_AND_ASSIGN(ToolConfig c, LoadToolConfig());
  EXPECT_EQ(c.root_dir(), std::string(cwd) + "/rel/root");
}

TEST_F(LoadToolConfigTest, MissingNamedFileIsAnError) {
  std::string missing = dir_.Join("nope.txtpb");
  absl::SetFlag(&FLAGS_config, missing);
  EXPECT_THAT(LoadToolConfig(), StatusIs(absl::StatusCode::kNotFound,
                                         "config file " + missing +
                                             ": No such file or directory"));
  absl::SetFlag(&FLAGS_config, "");
  ::setenv("CHTOOLS_CONFIG", missing.c_str(), 1);
  EXPECT_THAT(LoadToolConfig(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(LoadToolConfigTest, BadFileNamesLineAndColumn) {
  std::string path = WriteConfig("root_dir: \"/x\"\nrootdir: \"/y\"\n");
  absl::SetFlag(&FLAGS_config, path);
  EXPECT_THAT(LoadToolConfig(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(path + ":2:1: Message type "
                                        "\"chtools.ToolConfig\" has no field "
                                        "named \"rootdir\".")));
}

TEST_F(LoadToolConfigTest, BadValues) {
  std::string path = WriteConfig("dns: \"8.8.8.8\" dns: \"not-an-ip\"\n");
  absl::SetFlag(&FLAGS_config, path);
  EXPECT_THAT(LoadToolConfig(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       path + ": dns: \"not-an-ip\" is not an IPv4 or IPv6 "
                              "address"));
  path = WriteConfig("stop_timeout_seconds: -1\ndns: \"::1\"\n");
  EXPECT_THAT(LoadToolConfig(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       path + ": stop_timeout_seconds must be at least 1"));
}

}  // namespace
}  // namespace chtools::config
