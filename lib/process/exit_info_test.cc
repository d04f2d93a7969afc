#include "lib/process/exit_info.h"

#include <signal.h>

#include "gtest/gtest.h"

namespace chtools::process {
namespace {

TEST(ExitInfoTest, Exited) {
  ExitInfo e = ExitInfo::Exited(3);
  EXPECT_TRUE(e.exited());
  EXPECT_FALSE(e.signaled());
  EXPECT_EQ(e.code(), 3);
  EXPECT_EQ(e.signal(), 0);
  EXPECT_EQ(e.ToExitCode(), 3);
  EXPECT_EQ(e.ToString(), "exited with code 3");
}

TEST(ExitInfoTest, SignaledIs128PlusSignal) {
  ExitInfo e = ExitInfo::Signaled(SIGKILL);
  EXPECT_FALSE(e.exited());
  EXPECT_EQ(e.signal(), SIGKILL);
  EXPECT_EQ(e.code(), 0);
  EXPECT_EQ(e.ToExitCode(), 137);
  EXPECT_EQ(e.ToString(), "killed by signal 9 (SIGKILL)");
}

TEST(ExitInfoTest, FromSiginfo) {
  siginfo_t info{};
  info.si_code = CLD_EXITED;
  info.si_status = 7;
  EXPECT_EQ(ExitInfo::FromSiginfo(info), ExitInfo::Exited(7));
  info.si_code = CLD_KILLED;
  info.si_status = SIGTERM;
  EXPECT_EQ(ExitInfo::FromSiginfo(info), ExitInfo::Signaled(SIGTERM));
  info.si_code = CLD_DUMPED;
  info.si_status = SIGSEGV;
  EXPECT_EQ(ExitInfo::FromSiginfo(info), ExitInfo::Signaled(SIGSEGV));
  EXPECT_NE(ExitInfo::Exited(9), ExitInfo::Signaled(9));
}

}  // namespace
}  // namespace chtools::process
