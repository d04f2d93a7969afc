#include "lib/archive/entry_check.h"

#include <sys/stat.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace chtools::archive {
namespace {

absl::string_view TypeName(mode_t type) {
  switch (type) {
    case AE_IFLNK:
      return "a symlink";
    case AE_IFDIR:
      return "a directory";
    case AE_IFCHR:
      return "a character device";
    case AE_IFBLK:
      return "a block device";
    case AE_IFIFO:
      return "a FIFO";
    case AE_IFSOCK:
      return "a socket";
    default:
      return "not a regular file";
  }
}

absl::Status Reject(absl::string_view rule, absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat(rule, ": ", detail));
}

}  // namespace

std::string Quote(absl::string_view name) {
  return absl::StrCat("\"", absl::CHexEscape(name), "\"");
}

absl::StatusOr<std::string> CheckEntryHeader(struct archive_entry* e) {
  const char* path = archive_entry_pathname(e);
  if (path == nullptr) {
    return Reject("bad name", "missing, or not convertible to this locale");
  }
  const std::string name(path);
  // A hard link is a regular-file entry whose data lives elsewhere; it must
  // be caught before the type, which libarchive reports as regular.
  if (const char* target = archive_entry_hardlink(e); target != nullptr) {
    return Reject("not a regular file",
                  absl::StrCat("a hard link to ", Quote(target)));
  }
  const mode_t type = archive_entry_filetype(e);
  if (type != AE_IFREG) {
    std::string detail(TypeName(type));
    if (const char* target = archive_entry_symlink(e); target != nullptr) {
      absl::StrAppend(&detail, " to ", Quote(target));
    }
    return Reject("not a regular file", detail);
  }
  const mode_t mode = archive_entry_mode(e);
  if ((mode & (S_ISUID | S_ISGID | S_ISVTX)) != 0) {
    return Reject("set-id or sticky bit",
                  absl::StrFormat("mode %04o", mode & 07777));
  }
  if (name.empty()) return Reject("bad name", "empty");
  if (name[0] == '/') return Reject("absolute name", Quote(name));
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part == "..") return Reject("\"..\" in name", Quote(name));
  }
  if (absl::StrContains(name, '/')) {
    return Reject("name has a directory part", Quote(name));
  }
  if (name == ".") return Reject("bad name", Quote(name));
  if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0) {
    return Reject("no size", Quote(name));
  }
  return name;
}

}  // namespace chtools::archive
