// ExpectGolden: compare a test's output with testdata/ch-launch/<name> byte
// for byte, through lib/testing/golden (UPDATE_GOLDEN=1 bazel run <test>
// rewrites the file instead, for review with git diff).
#ifndef CHTOOLS_LIB_LAUNCH_GOLDEN_TEST_UTIL_H_
#define CHTOOLS_LIB_LAUNCH_GOLDEN_TEST_UTIL_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/testing/golden.h"

namespace chtools::launch {

inline void ExpectGolden(const std::string& name, const std::string& actual) {
  const std::string relative = absl::StrCat("testdata/ch-launch/", name);
  if (chtools::testing::UpdatingGoldens()) {
    ASSERT_TRUE(chtools::testing::WriteGolden(relative, actual).ok())
        << relative;
    return;
  }
  absl::StatusOr<std::string> want =
      chtools::testing::ReadFile(chtools::testing::RunfilePath(relative));
  ASSERT_TRUE(want.ok()) << want.status();
  EXPECT_EQ(*want, actual) << "golden " << relative;
}

}  // namespace chtools::launch

#endif  // CHTOOLS_LIB_LAUNCH_GOLDEN_TEST_UTIL_H_
