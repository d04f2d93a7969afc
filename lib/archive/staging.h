// The files an extraction creates in the caller's staging directory, so that
// a failed extraction leaves the directory as it found it.
#ifndef CHTOOLS_LIB_ARCHIVE_STAGING_H_
#define CHTOOLS_LIB_ARCHIVE_STAGING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/base/unique_fd.h"

namespace chtools::archive {

class StagedFiles {
 public:
  // Files are made in the directory `dirfd` (not owned).
  explicit StagedFiles(int dirfd) : dirfd_(dirfd) {}
  StagedFiles(const StagedFiles&) = delete;
  StagedFiles& operator=(const StagedFiles&) = delete;
  // Removes every file made, unless Keep() was called.
  ~StagedFiles();

  // Creates `name` (a plain name) with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600,
  // for writing. AlreadyExists if anything is there: it is never touched,
  // and never removed later.
  absl::StatusOr<UniqueFd> Create(absl::string_view name);
  // The extraction succeeded: the files stay.
  void Keep() { names_.clear(); }

 private:
  int dirfd_;
  std::vector<std::string> names_;
};

}  // namespace chtools::archive

#endif  // CHTOOLS_LIB_ARCHIVE_STAGING_H_
