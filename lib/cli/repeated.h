// Repeatable flags (--nic, --layer), which Abseil flags do not have: taken
// out of argv before the flags are parsed.
#ifndef CHTOOLS_LIB_CLI_REPEATED_H_
#define CHTOOLS_LIB_CLI_REPEATED_H_

#include <string>
#include <utility>
#include <vector>

namespace chtools::cli {

// Removes every "--F V", "--F=V", "-F V" and "-F=V" of each named flag F from
// argv (up to a "--"), appending V to F's vector; returns the rest, argv[0]
// first. Sets `missing` when a flag is last with no value.
std::vector<char*> TakeRepeated(
    int argc, char** argv,
    const std::vector<std::pair<std::string, std::vector<std::string>*>>& flags,
    bool& missing);

}  // namespace chtools::cli

#endif  // CHTOOLS_LIB_CLI_REPEATED_H_
