#include "lib/cli/repeated.h"

#include "absl/strings/match.h"

namespace chtools::cli {

std::vector<char*> TakeRepeated(
    int argc, char** argv,
    const std::vector<std::pair<std::string, std::vector<std::string>*>>& flags,
    bool& missing) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (i > 0 && a == "--") {
      for (; i < argc; ++i) rest.push_back(argv[i]);
      break;
    }
    std::vector<std::string>* into = nullptr;
    std::string value;
    for (const auto& [flag, vec] : flags) {
      for (const std::string& dash : {std::string("--"), std::string("-")}) {
        std::string f = dash + flag;
        if (a == f) {
          into = vec;
          if (i + 1 < argc) {
            value = argv[++i];
          } else {
            missing = true;
          }
        } else if (absl::StartsWith(a, f + "=")) {
          into = vec;
          value = a.substr(f.size() + 1);
        }
      }
    }
    if (i > 0 && into != nullptr) {
      if (!value.empty()) into->push_back(value);
      continue;
    }
    rest.push_back(argv[i]);
  }
  return rest;
}

}  // namespace chtools::cli
