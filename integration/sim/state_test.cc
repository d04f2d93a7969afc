// Tests of the CH v51 Vm state transitions.
#include "integration/sim/state.h"

#include "gtest/gtest.h"
#include "lib/testing/status_matchers.h"

namespace chtools::sim {
namespace {

using ::chtools::testing::StatusIs;
using S = VmState;

TEST(StateTest, LegalTransitions) {
  for (auto [from, to] :
       std::vector<std::pair<S, S>>{{S::kCreated, S::kRunning},
                                    {S::kCreated, S::kPaused},
                                    {S::kCreated, S::kShutdown},
                                    {S::kCreated, S::kBreakPoint},
                                    {S::kRunning, S::kPaused},
                                    {S::kRunning, S::kShutdown},
                                    {S::kRunning, S::kBreakPoint},
                                    {S::kPaused, S::kRunning},
                                    {S::kPaused, S::kShutdown},
                                    {S::kShutdown, S::kRunning},
                                    {S::kBreakPoint, S::kCreated},
                                    {S::kBreakPoint, S::kRunning}}) {
    EXPECT_OK(CheckTransition(from, to))
        << StateName(from) << "->" << StateName(to);
  }
}

TEST(StateTest, IllegalTransitionsUseDebugNames) {
  EXPECT_THAT(CheckTransition(S::kRunning, S::kRunning),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "invalid VM state transition: Running to Running"));
  EXPECT_THAT(CheckTransition(S::kPaused, S::kPaused),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "invalid VM state transition: Paused to Paused"));
  EXPECT_THAT(CheckTransition(S::kShutdown, S::kPaused),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "invalid VM state transition: Shutdown to Paused"));
  EXPECT_THAT(CheckTransition(S::kRunning, S::kCreated),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckTransition(S::kPaused, S::kBreakPoint),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace chtools::sim
