// Reading golden files of testdata/ch-launch from a test's runfiles; with
// CHTOOLS_UPDATE_GOLDEN=<workspace dir> (and --spawn_strategy=local) the
// expectation is rewritten instead, for review with git diff.
#ifndef CHTOOLS_LIB_LAUNCH_GOLDEN_TEST_UTIL_H_
#define CHTOOLS_LIB_LAUNCH_GOLDEN_TEST_UTIL_H_

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace chtools::launch {

inline std::string GoldenPath(const std::string& name) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  return std::string(srcdir ? srcdir : ".") + "/chtools/testdata/ch-launch/" + name;
}

// Compares `actual` with testdata/ch-launch/<name> byte for byte.
inline void ExpectGolden(const std::string& name, const std::string& actual) {
  if (const char* ws = std::getenv("CHTOOLS_UPDATE_GOLDEN"); ws && *ws) {
    std::ofstream(std::string(ws) + "/testdata/ch-launch/" + name,
                  std::ios::binary) << actual;
    return;
  }
  std::ifstream in(GoldenPath(name), std::ios::binary);
  ASSERT_TRUE(in.good()) << "missing golden " << GoldenPath(name);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), actual) << "golden " << name;
}

}  // namespace chtools::launch

#endif  // CHTOOLS_LIB_LAUNCH_GOLDEN_TEST_UTIL_H_
