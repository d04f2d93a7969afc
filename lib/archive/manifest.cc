#include "lib/archive/manifest.h"

#include <array>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/status_macros.h"
#include "lib/hash/sha256.h"
#include "lib/record/textproto.h"
#include "lib/record/validate.h"

namespace chtools::archive {
namespace {

constexpr std::array<absl::string_view, 6> kSnapshotFiles = {
    kConfigJson, kStateJson, kMemoryRanges, kCowRaw, kOverlayQcow2, kCidataImg};

absl::Status Invalid(int i, absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("files[", i, "].", field, ": ", what));
}

}  // namespace

bool IsSnapshotFileName(absl::string_view name) {
  for (absl::string_view n : kSnapshotFiles) {
    if (n == name) return true;
  }
  return false;
}

std::string FormatManifest(const chtools::Snapshot& snapshot) {
  chtools::Records records;
  *records.add_snapshot() = snapshot;
  return record::FormatRecords(records);
}

absl::StatusOr<chtools::Snapshot> ParseManifest(absl::string_view text,
                                                absl::string_view source_name) {
  ASSIGN_OR_RETURN(chtools::Records records,
                   record::ParseRecords(text, source_name));
  if (records.snapshot_size() != 1 || records.vm_size() != 0 ||
      records.finding_size() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(source_name,
                     ": must hold exactly one snapshot record and nothing "
                     "else (has ",
                     records.snapshot_size(), " snapshot, ", records.vm_size(),
                     " vm, ", records.finding_size(), " finding)"));
  }
  RETURN_IF_ERROR(
      Annotate(record::ValidateSnapshot(records.snapshot(0), "snapshot[0]"),
               source_name));
  return std::move(*records.mutable_snapshot(0));
}

absl::Status CheckManifest(const chtools::Snapshot& snapshot,
                           const ReadLimits& limits) {
  absl::flat_hash_set<std::string> seen;
  uint64_t total = 0;
  for (int i = 0; i < snapshot.files_size(); ++i) {
    const chtools::SnapshotFile& f = snapshot.files(i);
    if (!IsSnapshotFileName(f.name())) {
      return Invalid(
          i, "name",
          absl::StrCat("\"", f.name(),
                       "\" is not an allowed snapshot file: expected one of ",
                       absl::StrJoin(kSnapshotFiles, ", ")));
    }
    if (!seen.insert(f.name()).second) {
      return Invalid(i, "name",
                     absl::StrCat("\"", f.name(), "\" is listed twice"));
    }
    if (!hash::IsSha256Hex(f.sha256())) {
      return Invalid(i, "sha256",
                     absl::StrCat("\"", f.sha256(),
                                  "\" is not 64 lowercase hex characters: an "
                                  "archive needs the digest of every file"));
    }
    if (f.size_bytes() < 0) {
      return Invalid(i, "size_bytes", "is negative");
    }
    const uint64_t size = static_cast<uint64_t>(f.size_bytes());
    const bool json = f.name() == kConfigJson || f.name() == kStateJson;
    const uint64_t limit = json ? limits.max_json_bytes : limits.max_file_bytes;
    if (size > limit) {
      return Invalid(i, "size_bytes",
                     absl::StrCat(size, " exceeds the limit of ", limit,
                                  " bytes for \"", f.name(), "\""));
    }
    if (size > limits.max_total_bytes - total) {
      return Invalid(i, "size_bytes",
                     absl::StrCat("the files add up to more than the total "
                                  "limit of ",
                                  limits.max_total_bytes, " bytes"));
    }
    total += size;
  }
  for (absl::string_view required : {kConfigJson, kStateJson}) {
    if (!seen.contains(required)) {
      return absl::InvalidArgumentError(
          absl::StrCat("files: \"", required,
                       "\" is missing: CH cannot restore without it"));
    }
  }
  return absl::OkStatus();
}

}  // namespace chtools::archive
