// Golden files for tests: locating test data in the runfiles tree, listing
// cases, and rewriting expected outputs when UPDATE_GOLDEN=1 is set under
// `bazel run` (which knows the source tree through BUILD_WORKSPACE_DIRECTORY).
#ifndef CHTOOLS_LIB_TESTING_GOLDEN_H_
#define CHTOOLS_LIB_TESTING_GOLDEN_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chtools::testing {

// Absolute path of a workspace-relative data file in the runfiles tree
// ($TEST_SRCDIR/$TEST_WORKSPACE/<relative>).
std::string RunfilePath(absl::string_view relative);

// Whole contents of `path`; NotFound if it does not exist.
absl::StatusOr<std::string> ReadFile(absl::string_view path);

// Sorted names `<case>` of the files `<dir>/<case><suffix>` (dir is
// workspace-relative, looked up in the runfiles tree).
std::vector<std::string> ListCases(absl::string_view dir,
                                   absl::string_view suffix);

// True when goldens should be rewritten instead of compared: UPDATE_GOLDEN=1
// and BUILD_WORKSPACE_DIRECTORY set (i.e. `UPDATE_GOLDEN=1 bazel run <test>`).
bool UpdatingGoldens();

// Writes `contents` to <BUILD_WORKSPACE_DIRECTORY>/<relative>.
absl::Status WriteGolden(absl::string_view relative,
                         absl::string_view contents);

}  // namespace chtools::testing

#endif  // CHTOOLS_LIB_TESTING_GOLDEN_H_
