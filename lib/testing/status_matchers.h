// GoogleTest matchers for absl::Status / absl::StatusOr (Debian's Abseil has
// none): IsOk(), StatusIs(code[, message_matcher]), IsOkAndHolds(matcher),
// plus ASSERT_OK / EXPECT_OK / ASSERT_OK_AND_ASSIGN.
#ifndef CHTOOLS_LIB_TESTING_STATUS_MATCHERS_H_
#define CHTOOLS_LIB_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chtools::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = ::chtools::testing::GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s.ToString();
  return s.ok();
}

MATCHER_P(StatusIs, code, "has code " + absl::StatusCodeToString(code)) {
  const absl::Status& s = ::chtools::testing::GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has code " + absl::StatusCodeToString(code) +
               " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher)) {
  const absl::Status& s = ::chtools::testing::GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code &&
         ::testing::Matches(message_matcher)(std::string(s.message()));
}

MATCHER_P(IsOkAndHolds, value_matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

}  // namespace chtools::testing

#define EXPECT_OK(expr) EXPECT_THAT((expr), ::chtools::testing::IsOk())
#define ASSERT_OK(expr) ASSERT_THAT((expr), ::chtools::testing::IsOk())

#define CHTOOLS_TEST_CONCAT_INNER_(a, b) a##b
#define CHTOOLS_TEST_CONCAT_(a, b) CHTOOLS_TEST_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr)                                \
  auto CHTOOLS_TEST_CONCAT_(chtools_test_so_, __LINE__) = (rexpr);      \
  ASSERT_OK(CHTOOLS_TEST_CONCAT_(chtools_test_so_, __LINE__).status()); \
  lhs = *std::move(CHTOOLS_TEST_CONCAT_(chtools_test_so_, __LINE__))

#endif  // CHTOOLS_LIB_TESTING_STATUS_MATCHERS_H_
