// The rules on one entry header of a snapshot archive, as libarchive parsed
// it: a regular file with a plain name and no set-id or sticky bits. Pure:
// looks at the archive_entry only.
#ifndef CHTOOLS_LIB_ARCHIVE_ENTRY_CHECK_H_
#define CHTOOLS_LIB_ARCHIVE_ENTRY_CHECK_H_

#include <archive_entry.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chtools::archive {

// The entry's name if the entry is a regular file (no hard link, symlink,
// directory, device, FIFO or socket), without set-uid, set-gid or sticky
// bits, with a size, and named plainly: not empty, not absolute, no "/",
// not "." or "..". InvalidArgument naming the rule otherwise.
absl::StatusOr<std::string> CheckEntryHeader(struct archive_entry* e);

// `name` quoted for messages, with anything unprintable escaped.
std::string Quote(absl::string_view name);

}  // namespace chtools::archive

#endif  // CHTOOLS_LIB_ARCHIVE_ENTRY_CHECK_H_
