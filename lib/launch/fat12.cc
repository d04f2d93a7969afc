#include "lib/launch/fat12.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace chtools::launch {
namespace {

constexpr int kSector = 512;
constexpr int kTotalSectors = 2048;
constexpr int kSectorsPerFat = 6;
constexpr int kRootEntries = 128;
constexpr int kFatStart = 1;                                          // sector
constexpr int kRootStart = kFatStart + 2 * kSectorsPerFat;            // 13
constexpr int kDataStart = kRootStart + kRootEntries * 32 / kSector;  // 21
constexpr int kClusters = kTotalSectors - kDataStart;                 // 2027

void Put16(std::string& img, size_t off, uint16_t v) {
  img[off] = static_cast<char>(v & 0xff);
  img[off + 1] = static_cast<char>(v >> 8);
}
void Put32(std::string& img, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    img[off + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

void SetFat(std::string& img, int cluster, uint16_t value) {
  for (int copy = 0; copy < 2; ++copy) {
    size_t base = (kFatStart + copy * kSectorsPerFat) * kSector;
    size_t off = base + cluster * 3 / 2;
    auto b0 = static_cast<uint8_t>(img[off]);
    auto b1 = static_cast<uint8_t>(img[off + 1]);
    if (cluster % 2 == 0) {
      b0 = value & 0xff;
      b1 = static_cast<uint8_t>((b1 & 0xf0) | ((value >> 8) & 0x0f));
    } else {
      b0 = static_cast<uint8_t>((b0 & 0x0f) | ((value << 4) & 0xf0));
      b1 = static_cast<uint8_t>((value >> 4) & 0xff);
    }
    img[off] = static_cast<char>(b0);
    img[off + 1] = static_cast<char>(b1);
  }
}

uint8_t ShortNameChecksum(const char* name11) {
  uint8_t sum = 0;
  for (int i = 0; i < 11; ++i) {
    sum = static_cast<uint8_t>(((sum & 1) << 7) + (sum >> 1) +
                               static_cast<uint8_t>(name11[i]));
  }
  return sum;
}

// "meta-data", counter 1 -> "META-D~1   ": up to 6 upper-cased characters of
// the base, "~N", the first 3 of the extension.
std::string ShortName(absl::string_view name, int counter) {
  absl::string_view base = name, ext;
  if (size_t dot = name.rfind('.'); dot != absl::string_view::npos && dot > 0) {
    base = name.substr(0, dot);
    ext = name.substr(dot + 1);
  }
  auto clean = [](absl::string_view in, size_t max) {
    std::string out;
    for (char c : in) {
      if (out.size() == max) break;
      if (c == ' ' || c == '.') continue;
      unsigned char u = static_cast<unsigned char>(absl::ascii_toupper(c));
      bool ok = absl::ascii_isalnum(u) || std::strchr("!#$%&'()-@^_`{}~", u);
      out += ok ? static_cast<char>(u) : '_';
    }
    return out;
  };
  std::string tail = absl::StrCat("~", counter);
  std::string b = clean(base, 8 - tail.size()) + tail;
  b.resize(8, ' ');
  std::string e = clean(ext, 3);
  e.resize(3, ' ');
  return b + e;
}

}  // namespace

absl::StatusOr<std::string> BuildFat12Image(std::vector<Fat12File> files,
                                            absl::string_view label,
                                            uint32_t serial,
                                            absl::CivilSecond mtime) {
  std::sort(
      files.begin(), files.end(),
      [](const Fat12File& a, const Fat12File& b) { return a.name < b.name; });
  std::string img(kFat12ImageBytes, '\0');

  // Boot sector (BPB of a 1 MiB floppy-like volume).
  const unsigned char jump[] = {0xEB, 0x3C, 0x90};
  std::memcpy(&img[0], jump, 3);
  std::memcpy(&img[3], "COCOON  ", 8);
  Put16(img, 11, kSector);
  img[13] = 1;  // sectors per cluster
  Put16(img, 14, kFatStart);
  img[16] = 2;  // FATs
  Put16(img, 17, kRootEntries);
  Put16(img, 19, kTotalSectors);
  img[21] = static_cast<char>(0xF8);
  Put16(img, 22, kSectorsPerFat);
  Put16(img, 24, 32);  // sectors per track
  Put16(img, 26, 64);  // heads
  img[36] = static_cast<char>(0x80);
  img[38] = 0x29;
  Put32(img, 39, serial);
  std::string lab = absl::AsciiStrToUpper(label.substr(0, 11));
  lab.resize(11, ' ');
  std::memcpy(&img[43], lab.data(), 11);
  std::memcpy(&img[54], "FAT12   ", 8);
  img[510] = 0x55;
  img[511] = static_cast<char>(0xAA);

  SetFat(img, 0, 0xFF8);
  SetFat(img, 1, 0xFFF);

  uint16_t fat_time = static_cast<uint16_t>(
      (mtime.hour() << 11) | (mtime.minute() << 5) | (mtime.second() / 2));
  int year = std::clamp<int>(static_cast<int>(mtime.year()), 1980, 2107);
  uint16_t fat_date = static_cast<uint16_t>(((year - 1980) << 9) |
                                            (mtime.month() << 5) | mtime.day());

  size_t root = static_cast<size_t>(kRootStart) * kSector;
  int entry = 0;
  auto next_entry = [&]() -> absl::StatusOr<size_t> {
    if (entry == kRootEntries) {
      return absl::ResourceExhaustedError("fat12: root directory full");
    }
    return root + 32 * static_cast<size_t>(entry++);
  };

  {  // Volume label entry.
    absl::StatusOr<size_t> off = next_entry();
    std::memcpy(&img[*off], lab.data(), 11);
    img[*off + 11] = 0x08;
    Put16(img, *off + 22, fat_time);
    Put16(img, *off + 24, fat_date);
  }

  int next_cluster = 2;
  int counter = 0;
  for (const Fat12File& f : files) {
    if (f.name.empty() || f.name.find('/') != std::string::npos ||
        f.name.size() > 255) {
      return absl::InvalidArgumentError(
          absl::StrCat("fat12: bad file name \"", f.name, "\""));
    }
    int clusters = static_cast<int>((f.data.size() + kSector - 1) / kSector);
    if (next_cluster - 2 + clusters > kClusters) {
      return absl::ResourceExhaustedError(
          absl::StrCat("fat12: not enough space for ", f.name));
    }
    std::string short_name = ShortName(f.name, ++counter);
    uint8_t sum = ShortNameChecksum(short_name.data());

    // Long-name entries, highest sequence first; 13 UCS-2 chars each, a NUL
    // after the name when there is room, then 0xFFFF padding.
    int lfn_count = static_cast<int>((f.name.size() + 12) / 13);
    for (int seq = lfn_count; seq >= 1; --seq) {
      absl::StatusOr<size_t> off = next_entry();
      if (!off.ok()) return off.status();
      img[*off] = static_cast<char>(seq | (seq == lfn_count ? 0x40 : 0));
      img[*off + 11] = 0x0F;
      img[*off + 13] = static_cast<char>(sum);
      static const int kCharOffsets[13] = {1,  3,  5,  7,  9,  14, 16,
                                           18, 20, 22, 24, 28, 30};
      for (int k = 0; k < 13; ++k) {
        size_t idx = static_cast<size_t>(seq - 1) * 13 + k;
        uint16_t ch;
        if (idx < f.name.size()) {
          ch = static_cast<unsigned char>(f.name[idx]);
        } else if (idx == f.name.size()) {
          ch = 0;
        } else {
          ch = 0xFFFF;
        }
        Put16(img, *off + kCharOffsets[k], ch);
      }
    }
    absl::StatusOr<size_t> off = next_entry();
    if (!off.ok()) return off.status();
    std::memcpy(&img[*off], short_name.data(), 11);
    img[*off + 11] = 0x20;
    Put16(img, *off + 14, fat_time);
    Put16(img, *off + 16, fat_date);
    Put16(img, *off + 18, fat_date);
    Put16(img, *off + 22, fat_time);
    Put16(img, *off + 24, fat_date);
    Put16(img, *off + 26, clusters > 0 ? next_cluster : 0);
    Put32(img, *off + 28, static_cast<uint32_t>(f.data.size()));

    for (int c = 0; c < clusters; ++c) {
      int cl = next_cluster + c;
      SetFat(img, cl,
             c + 1 == clusters ? 0xFFF : static_cast<uint16_t>(cl + 1));
    }
    if (!f.data.empty()) {
      std::memcpy(
          &img[static_cast<size_t>(kDataStart + next_cluster - 2) * kSector],
          f.data.data(), f.data.size());
    }
    next_cluster += clusters;
  }
  return img;
}

}  // namespace chtools::launch
