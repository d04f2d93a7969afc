// FUZZ_CHECK: a property a fuzz target asserts beyond "does not crash".
// Prints the failed condition and a message, then aborts, which libFuzzer and
// the replay driver both report as a crash on the current input.
#ifndef CHTOOLS_LIB_TESTING_FUZZ_CHECK_H_
#define CHTOOLS_LIB_TESTING_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

#define FUZZ_CHECK(cond, ...)                                              \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::string fuzz_check_msg = absl::StrCat(__VA_ARGS__);              \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, \
                   __LINE__, #cond, fuzz_check_msg.c_str());               \
      std::abort();                                                        \
    }                                                                      \
  } while (0)

#endif  // CHTOOLS_LIB_TESTING_FUZZ_CHECK_H_
