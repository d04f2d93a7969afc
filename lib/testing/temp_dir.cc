#include "lib/testing/temp_dir.h"

#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace chtools::testing {

TempDir::TempDir() : TempDir("") {}

TempDir::TempDir(const std::string& parent) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string templ =
      (parent.empty() ? std::string(base && *base ? base : "/tmp") : parent) +
      "/t.XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace chtools::testing
