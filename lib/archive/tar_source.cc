#include "lib/archive/tar_source.h"

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace chtools::archive {
namespace {

constexpr size_t kPull = size_t{64} << 10;
// ARCHIVE_ERRNO_MISC, which only libarchive's private headers define.
constexpr int kErrnoMisc = -1;

}  // namespace

absl::StatusOr<std::unique_ptr<TarSource>> TarSource::Open(
    int fd, uint64_t first_budget, absl::string_view first_phase) {
  std::unique_ptr<TarSource> s(new TarSource());
  s->buffer_.resize(kPull);
  s->StartPhase(first_budget, first_phase);

  s->outer_.reset(archive_read_new());
  struct archive* outer = s->outer_.get();
  if (outer == nullptr) return absl::ResourceExhaustedError("archive_read_new");
  // ARCHIVE_WARN here would mean an external program instead of the
  // built-in library: refuse it like a missing filter.
  if (archive_read_support_filter_gzip(outer) != ARCHIVE_OK ||
      archive_read_support_filter_zstd(outer) != ARCHIVE_OK ||
      archive_read_support_format_raw(outer) != ARCHIVE_OK) {
    return absl::UnimplementedError(
        "the linked libarchive lacks built-in gzip or zstd decompression");
  }
  // Opening already picks the format and decompresses the first block. The
  // raw format does not bid on nothing at all.
  int r = archive_read_open_fd(outer, fd, kPull);
  struct archive_entry* raw;
  if (r == ARCHIVE_OK) r = archive_read_next_header(outer, &raw);
  // libarchive's "unrecognized format" errno (ARCHIVE_ERRNO_FILE_FORMAT)
  // after reading nothing: an empty file, not a read error.
  if (r == ARCHIVE_EOF || (r != ARCHIVE_OK && archive_errno(outer) == EILSEQ &&
                           archive_filter_bytes(outer, -1) == 0)) {
    return absl::InvalidArgumentError("the archive is empty");
  }
  if (r != ARCHIVE_OK) {
    return ArchiveError(outer, absl::StatusCode::kDataLoss, "decompress", "");
  }
  // Filters from the outside in, the last being the file itself ("none").
  if (archive_filter_count(outer) > 2) {
    std::string chain;
    for (int i = 0; i < archive_filter_count(outer) - 1; ++i) {
      absl::StrAppend(&chain, i > 0 ? " + " : "",
                      archive_filter_name(outer, i));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "nested compression (", chain, "): at most one layer is allowed"));
  }

  s->inner_.reset(archive_read_new());
  struct archive* inner = s->inner_.get();
  if (inner == nullptr) return absl::ResourceExhaustedError("archive_read_new");
  // Only tar: no filters, so compression inside the decompressed stream is
  // "not tar" rather than another layer.
  if (archive_read_support_format_tar(inner) != ARCHIVE_OK) {
    return ArchiveError(inner, absl::StatusCode::kInternal, "support tar", "");
  }
  if (archive_read_open(inner, s.get(), nullptr, &TarSource::Pull, nullptr) !=
      ARCHIVE_OK) {
    return s->Error("not a tar archive", "",
                    absl::StatusCode::kInvalidArgument);
  }
  return s;
}

void TarSource::StartPhase(uint64_t budget, absl::string_view phase) {
  phase_start_ = pulled_;
  budget_ = budget;
  phase_ = std::string(phase);
}

la_ssize_t TarSource::Pull(struct archive* inner, void* self_ptr,
                           const void** buffer) {
  TarSource* self = static_cast<TarSource*>(self_ptr);
  la_ssize_t n = archive_read_data(self->outer_.get(), self->buffer_.data(),
                                   self->buffer_.size());
  if (n < 0) {
    self->failure_ = ArchiveError(
        self->outer_.get(), absl::StatusCode::kDataLoss, "decompress", "");
    archive_set_error(inner, kErrnoMisc, "%s",
                      std::string(self->failure_.message()).c_str());
    return -1;
  }
  self->pulled_ += static_cast<uint64_t>(n);
  if (self->pulled_ - self->phase_start_ > self->budget_) {
    self->failure_ = absl::InvalidArgumentError(
        absl::StrCat(self->phase_, ": more than ", self->budget_,
                     " bytes of (decompressed) archive"));
    archive_set_error(inner, kErrnoMisc, "%s",
                      std::string(self->failure_.message()).c_str());
    return -1;
  }
  *buffer = self->buffer_.data();
  return n;
}

absl::Status TarSource::Error(absl::string_view call, absl::string_view entry,
                              absl::StatusCode code) const {
  if (!failure_.ok()) return failure_;
  return ArchiveError(inner_.get(), code, call, entry);
}

}  // namespace chtools::archive
