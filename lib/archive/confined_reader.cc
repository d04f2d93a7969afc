#include "lib/archive/confined_reader.h"

#include <iconv.h>
#include <langinfo.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "lib/archive/reader.h"
#include "lib/base/status_macros.h"
#include "lib/hash/sha256.h"
#include "lib/sandbox/confined_call.h"
#include "lib/sandbox/groups.h"
#include "lib/sandbox/policy.h"

namespace chtools::archive {
namespace {

// Before the fork, in this process (the child inherits the state): OpenSSL
// reads its configuration and picks its SHA-256 code on first use, and
// libarchive converts pax names from UTF-8 with iconv, whose list of
// converters (/usr/lib/x86_64-linux-gnu/gconv) glibc reads once, on the
// first iconv_open. The child's policy allows no opening of files. The
// converters between UTF-8 and the C locale's ASCII are built into glibc (no
// module is loaded later).
void WarmUp() {
  hash::Sha256 warm_up;
  warm_up.Update("x");
  (void)warm_up.HexDigest();
  if (iconv_t cd = ::iconv_open(::nl_langinfo(CODESET), "UTF-8");
      cd != reinterpret_cast<iconv_t>(-1)) {
    ::iconv_close(cd);
  }
}

}  // namespace

absl::StatusOr<Snapshot> ExtractSnapshotArchiveConfined(
    int in_fd, absl::string_view source_name, int staging_dirfd,
    const ReadLimits& limits) {
  WarmUp();
  sandbox::PolicyBuilder policy;
  // Memory, exit, futexes: any C++ program.
  policy.Allow(sandbox::Group::kBasicProcess);
  // Read the archive from in_fd; write, resize (holes), sync and hash the
  // staged files; write the report.
  policy.Allow(sandbox::Group::kReadWrite);
  // Create each listed file in the staging dir, exclusively and not through
  // a symlink; remove them again on error.
  policy.AllowCreateIn(staging_dirfd);
  const std::string what = absl::StrCat(source_name, ": extraction process");
  // A manifest-sized record: anything much larger is not a report.
  ASSIGN_OR_RETURN(std::string wire,
                   sandbox::RunConfined(
                       what, policy, {in_fd, staging_dirfd}, size_t{64} << 20,
                       [&]() -> absl::StatusOr<std::string> {
                         ASSIGN_OR_RETURN(
                             Snapshot s,
                             ExtractSnapshotArchive(in_fd, source_name,
                                                    staging_dirfd, limits));
                         return s.SerializeAsString();
                       }));
  Snapshot s;
  if (!s.ParseFromString(wire)) {
    return absl::InternalError(absl::StrCat(what, ": sent a bad report"));
  }
  return s;
}

}  // namespace chtools::archive
