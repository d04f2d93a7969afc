// Shell quoting for command lines saved to files and printed for pasting
// back into a POSIX shell (cocoon saved them unquoted, see
// docs/cocoon-lessons.md §7.10).
#ifndef CHTOOLS_LIB_LAUNCH_SHELL_QUOTE_H_
#define CHTOOLS_LIB_LAUNCH_SHELL_QUOTE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace chtools::launch {

// Returns `word` unchanged when it holds only characters no shell treats
// specially ([A-Za-z0-9_@%+=:,./-], non-empty), else wrapped in single quotes
// with each ' written as '\''.
std::string ShellQuote(absl::string_view word);

// ShellQuote of every element joined by single spaces.
std::string ShellJoin(const std::vector<std::string>& argv);

}  // namespace chtools::launch

#endif  // CHTOOLS_LIB_LAUNCH_SHELL_QUOTE_H_
