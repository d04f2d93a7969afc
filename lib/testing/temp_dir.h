// TempDir: a fresh directory under $TEST_TMPDIR (or /tmp), removed with its
// contents when the object goes away.
#ifndef CHTOOLS_LIB_TESTING_TEMP_DIR_H_
#define CHTOOLS_LIB_TESTING_TEMP_DIR_H_

#include <string>

namespace chtools::testing {

class TempDir {
 public:
  // Creates the directory; aborts the test binary if that fails.
  TempDir();
  // Under `parent` instead (e.g. "/tmp" where unix socket paths must stay
  // under 108 bytes).
  explicit TempDir(const std::string& parent);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace chtools::testing

#endif  // CHTOOLS_LIB_TESTING_TEMP_DIR_H_
