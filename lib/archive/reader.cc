#include "lib/archive/reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "lib/archive/entry_check.h"
#include "lib/archive/ram_size.h"
#include "lib/archive/sparse_map.h"
#include "lib/archive/staging.h"
#include "lib/archive/tar_source.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"
#include "lib/hash/sha256.h"

namespace chtools::archive {
namespace {

// Read-ahead: libarchive may pull up to ~1 MiB (a pax header) plus one chunk
// beyond what the current entry needs.
constexpr uint64_t kReadAheadSlack = uint64_t{2} << 20;
// Zero blocks of this size are left as holes when writing files.
constexpr uint64_t kHoleBlock = 4096;

using Sink = absl::FunctionRef<absl::Status(uint64_t, absl::string_view)>;

bool IsZero(absl::string_view s) {
  return s.empty() ||
         (s[0] == 0 && std::memcmp(s.data(), s.data() + 1, s.size() - 1) == 0);
}

absl::Status PwriteAll(int fd, uint64_t offset, absl::string_view data,
                       absl::string_view name) {
  while (!data.empty()) {
    ssize_t n = RetryEintr([&] {
      return ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    });
    if (n < 0) return ErrnoError(errno, "write", name);
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

// Writes `data` at `offset` except the aligned kHoleBlock pieces that are all
// zeros: the file is new, so they read as zeros anyway and stay holes (a
// dense memory-ranges is mostly zeros; so is a compressed bomb).
absl::Status WriteKeepingHoles(int fd, uint64_t offset, absl::string_view data,
                               absl::string_view name) {
  size_t run = absl::string_view::npos;
  size_t i = 0;
  while (i < data.size()) {
    size_t piece = std::min<uint64_t>(data.size() - i,
                                      kHoleBlock - (offset + i) % kHoleBlock);
    const bool zero = IsZero(data.substr(i, piece));
    if (!zero && run == absl::string_view::npos) run = i;
    if (zero && run != absl::string_view::npos) {
      RETURN_IF_ERROR(
          PwriteAll(fd, offset + run, data.substr(run, i - run), name));
      run = absl::string_view::npos;
    }
    i += piece;
  }
  if (run != absl::string_view::npos) {
    RETURN_IF_ERROR(PwriteAll(fd, offset + run, data.substr(run), name));
  }
  return absl::OkStatus();
}

std::vector<Extent> DeclaredMap(struct archive_entry* e) {
  std::vector<Extent> map;
  if (archive_entry_sparse_reset(e) <= 0) return map;
  la_int64_t offset, length;
  while (archive_entry_sparse_next(e, &offset, &length) == ARCHIVE_OK) {
    // libarchive never stores negative values here.
    map.push_back(
        {static_cast<uint64_t>(offset), static_cast<uint64_t>(length)});
  }
  return map;
}

class Extractor {
 public:
  Extractor(absl::string_view source, int dirfd, const ReadLimits& limits)
      : source_(source), limits_(limits), staged_(dirfd) {}

  absl::StatusOr<chtools::Snapshot> Run(int in_fd) {
    auto src =
        TarSource::Open(in_fd, limits_.max_header_bytes, "header too large");
    if (!src.ok()) return Annotate(src.status(), source_);
    src_ = *std::move(src);
    ASSIGN_OR_RETURN(chtools::Snapshot snapshot, ReadManifest());
    absl::flat_hash_map<std::string, const chtools::SnapshotFile*> listed;
    for (const chtools::SnapshotFile& f : snapshot.files()) {
      listed[f.name()] = &f;
    }
    absl::flat_hash_map<std::string, int> seen;
    std::string state_json;
    for (;;) {
      ++index_;
      name_.clear();
      src_->StartPhase(limits_.max_header_bytes, "header too large");
      ASSIGN_OR_RETURN(struct archive_entry * e, NextHeader());
      if (e == nullptr) break;
      if (index_ > limits_.max_entries) {
        return At(absl::InvalidArgumentError(absl::StrCat(
            "too many entries: the limit is ", limits_.max_entries)));
      }
      auto name = CheckEntryHeader(e);
      if (!name.ok()) return At(name.status());
      name_ = *name;
      if (name_ == kManifestName) {
        return At(absl::InvalidArgumentError(
            "duplicate entry: snapshot.txtpb may only come first"));
      }
      auto it = listed.find(name_);
      if (it == listed.end()) {
        return At(absl::InvalidArgumentError(
            "not in the manifest: snapshot.txtpb does not list this file"));
      }
      if (auto [prev, added] = seen.emplace(name_, index_); !added) {
        return At(absl::InvalidArgumentError(absl::StrCat(
            "duplicate entry: already seen as entry ", prev->second)));
      }
      RETURN_IF_ERROR(ExtractFile(e, *it->second,
                                  name_ == kStateJson ? &state_json : nullptr));
    }
    name_.clear();
    for (const chtools::SnapshotFile& f : snapshot.files()) {
      if (!seen.contains(f.name())) {
        return absl::DataLossError(
            absl::StrCat(source_, ": missing file: snapshot.txtpb lists ",
                         Quote(f.name()), " but the archive ends without it"));
      }
    }
    RETURN_IF_ERROR(CheckRam(snapshot, state_json));
    staged_.Keep();
    return snapshot;
  }

 private:
  // `s` with "<source>: entry <n> "<name>": " in front (same code).
  absl::Status At(const absl::Status& s) const {
    std::string where = absl::StrCat(source_, ": entry ", index_);
    if (!name_.empty()) absl::StrAppend(&where, " ", Quote(name_));
    return Annotate(s, where);
  }

  // The next entry, or null at the end of the archive. Warnings are errors:
  // libarchive warns about what it skipped or could not interpret (an
  // unknown sparse format, too many special headers, an unconvertible name).
  absl::StatusOr<struct archive_entry*> NextHeader() {
    struct archive_entry* e = nullptr;
    int r = archive_read_next_header(src_->tar(), &e);
    if (r == ARCHIVE_EOF) return nullptr;
    if (r == ARCHIVE_WARN) {
      return At(src_->Error("read header (a libarchive warning is refused)", "",
                            absl::StatusCode::kInvalidArgument));
    }
    if (r != ARCHIVE_OK) {
      return At(src_->Error("read header", "", absl::StatusCode::kDataLoss));
    }
    int format = archive_format(src_->tar());
    if (format != ARCHIVE_FORMAT_TAR_USTAR &&
        format != ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE &&
        format != ARCHIVE_FORMAT_TAR_PAX_RESTRICTED &&
        format != ARCHIVE_FORMAT_TAR_GNUTAR) {
      const char* fname = archive_format_name(src_->tar());
      return At(absl::InvalidArgumentError(
          absl::StrCat("unsupported tar format \"", fname ? fname : "?",
                       "\": expected ustar, pax or GNU tar")));
    }
    return e;
  }

  absl::StatusOr<chtools::Snapshot> ReadManifest() {
    index_ = 1;
    ASSIGN_OR_RETURN(struct archive_entry * e, NextHeader());
    if (e == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          source_, ": missing snapshot.txtpb: the archive has no entries"));
    }
    auto name = CheckEntryHeader(e);
    if (!name.ok()) return At(name.status());
    name_ = *name;
    if (name_ != kManifestName) {
      return At(absl::InvalidArgumentError(
          "missing snapshot.txtpb: it must be the first entry"));
    }
    const uint64_t size = static_cast<uint64_t>(archive_entry_size(e));
    if (size > limits_.max_manifest_bytes) {
      return At(absl::InvalidArgumentError(
          absl::StrCat("manifest too large: ", size, " bytes, the limit is ",
                       limits_.max_manifest_bytes)));
    }
    std::string text(size, '\0');
    auto sink = [&](uint64_t offset, absl::string_view data) {
      std::memcpy(text.data() + offset, data.data(), data.size());
      return absl::OkStatus();
    };
    RETURN_IF_ERROR(ReadData(e, size, sink).status());
    auto snapshot = ParseManifest(text, kManifestName);
    if (!snapshot.ok()) {
      return At(Annotate(snapshot.status(), "malformed snapshot.txtpb"));
    }
    absl::Status s = CheckManifest(*snapshot, limits_);
    if (!s.ok()) return At(Annotate(s, "manifest rejected"));
    return snapshot;
  }

  // Reads the current entry's data into `sink`, checking the sparse map as
  // declared and as the blocks arrive. Returns the SHA-256 of the entry's
  // `size` bytes, holes as zeros.
  absl::StatusOr<std::string> ReadData(struct archive_entry* e, uint64_t size,
                                       Sink sink) {
    // libarchive drops extents that are out of order, overlap or pass the
    // size from the map it shows here (archive_entry_sparse_add_entry
    // refuses them silently) but still returns their data at their offsets:
    // the BlockTracker below is what catches them.
    if (absl::Status s =
            CheckSparseMap(DeclaredMap(e), size, limits_.max_extents);
        !s.ok()) {
      return At(s);
    }
    src_->StartPhase(size + kReadAheadSlack, "data longer than the entry");
    BlockTracker tracker(size);
    hash::Sha256 h;
    for (;;) {
      const void* buf;
      size_t n;
      la_int64_t offset;
      int r = archive_read_data_block(src_->tar(), &buf, &n, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK) {
        return At(src_->Error("read data", "", absl::StatusCode::kDataLoss));
      }
      if (offset < 0) {
        return At(absl::InvalidArgumentError(absl::StrCat(
            "sparse map past entry size: negative offset ", offset)));
      }
      auto hole = tracker.Next(static_cast<uint64_t>(offset), n);
      if (!hole.ok()) return At(hole.status());
      absl::string_view data(static_cast<const char*>(buf), n);
      h.UpdateZeros(*hole);
      h.Update(data);
      RETURN_IF_ERROR(sink(static_cast<uint64_t>(offset), data));
    }
    // Anything the entry stores that no block returned is skipped here,
    // inside this phase's budget, rather than by the next
    // archive_read_next_header. (libarchive 3.6.2 skips nothing for a GNU
    // 1.0 sparse entry: it parses the next header right after the data its
    // map accounts for, whatever the stored size says.)
    if (archive_read_data_skip(src_->tar()) != ARCHIVE_OK) {
      return At(src_->Error("skip data", "", absl::StatusCode::kDataLoss));
    }
    h.UpdateZeros(size - tracker.end());
    return h.HexDigest();
  }

  absl::Status ExtractFile(struct archive_entry* e,
                           const chtools::SnapshotFile& f,
                           std::string* keep_copy) {
    const uint64_t size = static_cast<uint64_t>(archive_entry_size(e));
    const uint64_t listed = static_cast<uint64_t>(f.size_bytes());
    if (size != listed) {
      return At(absl::DataLossError(
          absl::StrCat("size mismatch: the entry has ", size,
                       " bytes, snapshot.txtpb says ", listed)));
    }
    auto fd = staged_.Create(name_);
    if (!fd.ok()) return At(fd.status());
    if (keep_copy != nullptr) keep_copy->assign(size, '\0');
    auto sink = [&](uint64_t offset, absl::string_view data) {
      if (keep_copy != nullptr) {
        std::memcpy(keep_copy->data() + offset, data.data(), data.size());
      }
      return WriteKeepingHoles(fd->get(), offset, data, name_);
    };
    ASSIGN_OR_RETURN(std::string digest, ReadData(e, size, sink));
    if (::ftruncate(fd->get(), static_cast<off_t>(size)) != 0) {
      return At(ErrnoError(errno, "truncate", name_));
    }
    if (::fsync(fd->get()) != 0) return At(ErrnoError(errno, "fsync", name_));
    if (absl::Status s = fd->Close(); !s.ok()) return At(s);
    if (digest != f.sha256()) {
      return At(absl::DataLossError(
          absl::StrCat("SHA-256 mismatch: the data hashes to ", digest,
                       ", snapshot.txtpb says ", f.sha256())));
    }
    return absl::OkStatus();
  }

  // CH v51 restores RAM from memory-ranges without checking its length and
  // loops forever on a short one (docs/ch-v51.md §4.5).
  absl::Status CheckRam(const chtools::Snapshot& snapshot,
                        const std::string& state_json) const {
    auto ram = RamBytesFromState(state_json);
    if (!ram.ok()) {
      return Annotate(ram.status(), absl::StrCat(source_, ": bad state.json"));
    }
    uint64_t have = 0;
    bool present = false;
    for (const chtools::SnapshotFile& f : snapshot.files()) {
      if (f.name() == kMemoryRanges) {
        have = static_cast<uint64_t>(f.size_bytes());
        present = true;
      }
    }
    if (have != *ram || (!present && *ram != 0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          source_, ": memory-ranges does not match state.json: memory-ranges ",
          present ? absl::StrCat("is ", have, " bytes") : "is missing",
          " but state.json describes ", *ram,
          " bytes of guest RAM (CH v51 never finishes restoring from a short "
          "memory-ranges)"));
    }
    return absl::OkStatus();
  }

  const std::string source_;
  const ReadLimits& limits_;
  StagedFiles staged_;
  std::unique_ptr<TarSource> src_;
  int index_ = 0;
  std::string name_;
};

}  // namespace

absl::StatusOr<chtools::Snapshot> ExtractSnapshotArchive(
    int in_fd, absl::string_view source_name, int staging_dirfd,
    const ReadLimits& limits) {
  Extractor x(source_name, staging_dirfd, limits);
  return x.Run(in_fd);
}

}  // namespace chtools::archive
