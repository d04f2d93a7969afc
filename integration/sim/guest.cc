// Guest model; see guest.h.
#include "integration/sim/guest.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace chtools::sim {
namespace {

constexpr char kSlotMagic[8] = {'C', 'H', 'S', 'I', 'M', 'M', 'E', 'M'};
constexpr char kDiskMagic[8] = {'C', 'H', 'S', 'I', 'M', 'D', 'S', 'K'};
constexpr size_t kSlotSize = 4096;
constexpr size_t kMaxValue = kSlotSize - 12;

}  // namespace

absl::StatusOr<std::unique_ptr<GuestMemory>> GuestMemory::Create(
    uint64_t size) {
  if (size == 0) return absl::InvalidArgumentError("guest memory size is 0");
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "Memory manager error\nCannot map guest memory\n", OsErrorText(errno)));
  }
  return std::unique_ptr<GuestMemory>(
      new GuestMemory(static_cast<unsigned char*>(p), size));
}

GuestMemory::~GuestMemory() { munmap(data_, size_); }

uint64_t GuestMemory::SlotOffset(int slot) const {
  // Slots sit at 1 MiB (like kernel data would), or at 0 in tiny guests.
  uint64_t base = size_ >= (2u << 20) ? (1u << 20) : 0;
  return base + static_cast<uint64_t>(slot) * kSlotSize;
}

std::string GuestMemory::ReadSlot(int slot) const {
  uint64_t off = SlotOffset(slot);
  if (off + kSlotSize > size_) return "";
  const unsigned char* p = data_ + off;
  if (memcmp(p, kSlotMagic, 8) != 0) return "";
  uint32_t len;
  memcpy(&len, p + 8, 4);
  if (len > kMaxValue) return "";
  return std::string(reinterpret_cast<const char*>(p + 12), len);
}

void GuestMemory::WriteSlot(int slot, absl::string_view value) {
  uint64_t off = SlotOffset(slot);
  if (off + kSlotSize > size_) return;
  if (value.size() > kMaxValue) value = value.substr(0, kMaxValue);
  unsigned char* p = data_ + off;
  memcpy(p, kSlotMagic, 8);
  uint32_t len = static_cast<uint32_t>(value.size());
  memcpy(p + 8, &len, 4);
  memcpy(p + 12, value.data(), value.size());
}

static absl::StatusOr<off_t> DiskMarkerOffset(DiskDevice& disk) {
  struct stat st;
  if (fstat(disk.fd.get(), &st) < 0)
    return absl::InternalError(OsErrorText(errno));
  if (disk.image_type == "Qcow2") {
    uint64_t off = disk.qcow2_cluster_size - kSlotSize;
    if (disk.qcow2_cluster_size < 2 * kSlotSize ||
        disk.qcow2_header_end > off) {
      return absl::FailedPreconditionError("qcow2 header cluster has no room");
    }
    return static_cast<off_t>(off);
  }
  if (static_cast<uint64_t>(st.st_size) < 2 * kSlotSize) {
    return absl::FailedPreconditionError("disk too small");
  }
  return static_cast<off_t>((st.st_size / kSlotSize - 1) * kSlotSize);
}

absl::Status WriteDiskMarker(DiskDevice& disk, absl::string_view value) {
  absl::StatusOr<off_t> off = DiskMarkerOffset(disk);
  if (!off.ok()) return off.status();
  if (value.size() > kMaxValue) value = value.substr(0, kMaxValue);
  alignas(4096) static unsigned char block[kSlotSize];
  memset(block, 0, sizeof(block));
  memcpy(block, kDiskMagic, 8);
  uint32_t len = static_cast<uint32_t>(value.size());
  memcpy(block + 8, &len, 4);
  memcpy(block + 12, value.data(), value.size());
  if (pwrite(disk.fd.get(), block, kSlotSize, *off) != kSlotSize) {
    return absl::InternalError(OsErrorText(errno));
  }
  fdatasync(disk.fd.get());
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadDiskMarker(DiskDevice& disk) {
  absl::StatusOr<off_t> off = DiskMarkerOffset(disk);
  if (!off.ok()) return off.status();
  alignas(4096) static unsigned char block[kSlotSize];
  if (pread(disk.fd.get(), block, kSlotSize, *off) != kSlotSize) {
    return absl::InternalError(OsErrorText(errno));
  }
  if (memcmp(block, kDiskMagic, 8) != 0) return std::string();
  uint32_t len;
  memcpy(&len, block + 8, 4);
  if (len > kMaxValue) return std::string();
  return std::string(reinterpret_cast<const char*>(block + 12), len);
}

Guest::Guest(GuestMemory* memory, Hooks hooks)
    : memory_(memory), hooks_(std::move(hooks)) {}

void Guest::Attach(ConsoleDevice* dev) {
  devices_.push_back(dev);
  dev->SetInput([this, dev](absl::string_view b) { OnInput(dev, b); });
}

void Guest::Print(ConsoleDevice* dev, absl::string_view text) {
  // A Linux guest never puts a bare "\n" on the wire: its serial/hvc tty has
  // ONLCR on (shell output), and the kernel console itself turns "\n" into
  // "\r\n" (uart_console_write, hvc_console_print). CH then copies the bytes
  // unchanged: its PTY is raw, sockets and files carry bytes as they are.
  dev->Write(absl::StrReplaceAll(text, {{"\n", "\r\n"}}));
}

std::string Guest::Prompt() const {
  return absl::StrCat("root@", memory_->ReadSlot(0), ":~# ");
}

void Guest::Boot(absl::string_view hostname) {
  memory_->WriteSlot(0, hostname);
  memory_->WriteSlot(2, "booted");
  GuestHardware hw = hooks_.hardware();
  std::string msg = absl::StrCat(
      "[    0.000000] Linux version 6.1.0-chsim (cloud-hypervisor simulator "
      "guest)\n",
      "[    0.000000] Command line: ", hw.cmdline, "\n",
      "[    0.010000] smp: Brought up 1 node, ", hw.vcpus, " CPUs\n",
      "[    0.020000] Memory: ", hw.memory_size >> 10, "K available\n");
  for (size_t i = 0; i < hw.nic_macs.size(); ++i) {
    absl::StrAppend(&msg, "[    0.030000] virtio_net: eth", i, ": ",
                    hw.nic_macs[i], "\n");
  }
  absl::StrAppend(&msg, "\nchsim guest ", hostname, " ready\n\n");
  for (ConsoleDevice* d : devices_) Print(d, absl::StrCat(msg, Prompt()));
}

void Guest::SetRunning(bool running) {
  running_ = running;
  if (!running) return;
  for (ConsoleDevice* d : devices_) Drain(d);
}

void Guest::PowerButton() {
  for (ConsoleDevice* d : devices_) {
    Print(d, "\n[  OK  ] Power button pressed: powering off.\n");
  }
  hooks_.poweroff();
}

void Guest::OnInput(ConsoleDevice* dev, absl::string_view bytes) {
  pending_[dev].append(bytes.data(), bytes.size());
  if (running_) Drain(dev);
}

void Guest::Drain(ConsoleDevice* dev) {
  std::string& buf = pending_[dev];
  while (running_) {
    size_t eol = buf.find_first_of("\r\n");
    if (eol == std::string::npos) return;
    std::string line = buf.substr(0, eol);
    size_t skip =
        (buf[eol] == '\r' && eol + 1 < buf.size() && buf[eol + 1] == '\n') ? 2
                                                                           : 1;
    buf.erase(0, eol + skip);
    Execute(dev, line);
  }
}

void Guest::Execute(ConsoleDevice* dev, const std::string& raw) {
  std::string line(absl::StripAsciiWhitespace(raw));
  std::vector<std::string> w = absl::StrSplit(line, ' ', absl::SkipEmpty());
  std::string out;
  GuestHardware hw = hooks_.hardware();
  if (w.empty()) {
  } else if (line == "hostname") {
    out = memory_->ReadSlot(0) + "\n";
  } else if (line == "cat /proc/cmdline") {
    out = hw.cmdline + "\n";
  } else if (line == "ip link") {
    for (size_t i = 0; i < hw.nic_macs.size(); ++i) {
      absl::StrAppend(&out, "eth", i, ": ", hw.nic_macs[i], "\n");
    }
  } else if (line == "nproc") {
    out = absl::StrCat(hw.vcpus, "\n");
  } else if (line == "free -b") {
    out = absl::StrCat("Mem: ", hw.memory_size, "\n");
  } else if (w[0] == "mem-marker" && w.size() >= 2 && w[1] == "get" &&
             w.size() == 2) {
    out = memory_->ReadSlot(1) + "\n";
  } else if (w[0] == "mem-marker" && w.size() == 3 && w[1] == "set") {
    memory_->WriteSlot(1, w[2]);
  } else if (w[0] == "mem-dirty" && w.size() == 2) {
    // Writes N MiB of non-zero bytes into guest RAM from 4 MiB up (past the
    // slots), so a snapshot's memory-ranges holds that much data.
    uint64_t mib = 0;
    const uint64_t base = uint64_t{4} << 20;
    if (!absl::SimpleAtoi(w[1], &mib) || memory_->size() <= base) {
      out = "usage: mem-dirty MiB (guest RAM above 4 MiB)\n";
    } else {
      uint64_t n = std::min<uint64_t>(mib << 20, memory_->size() - base);
      unsigned char* p = memory_->data() + base;
      for (uint64_t off = 0; off + 8 <= n; off += 8) {
        uint64_t v = (base + off) ^ 0x9e3779b97f4a7c15ull;
        memcpy(p + off, &v, 8);
      }
      out = absl::StrCat("dirtied ", n >> 20, " MiB\n");
    }
  } else if (w[0] == "disk-marker" && (w.size() == 2 || w.size() == 3)) {
    if (hw.marker_disk == nullptr) {
      out = "disk-marker: no writable disk\n";
    } else if (w[1] == "get" && w.size() == 2) {
      absl::StatusOr<std::string> v = ReadDiskMarker(*hw.marker_disk);
      out = v.ok() ? *v + "\n"
                   : absl::StrCat("disk-marker: ", v.status().message(), "\n");
    } else if (w[1] == "set" && w.size() == 3) {
      absl::Status s = WriteDiskMarker(*hw.marker_disk, w[2]);
      if (!s.ok()) out = absl::StrCat("disk-marker: ", s.message(), "\n");
    } else {
      out = "usage: disk-marker set V | disk-marker get\n";
    }
  } else if (line == "poweroff") {
    Print(dev, "[  OK  ] Reached target Power-Off.\n");
    hooks_.poweroff();
    return;
  } else if (line == "reboot") {
    Print(dev, "[  OK  ] Reached target Reboot.\n");
    hooks_.reboot();
    return;
  } else {
    out = absl::StrCat("-sh: ", w[0], ": command not found\n");
  }
  Print(dev, absl::StrCat(out, Prompt()));
}

static bool IsCidata(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char b[512];
  ssize_t n = pread(fd, b, sizeof(b), 0);
  close(fd);
  if (n != 512) return false;
  // Volume label of a FAT12/16 (offset 43) or FAT32 (offset 71) boot sector.
  return memcmp(b + 43, "CIDATA     ", 11) == 0 ||
         memcmp(b + 71, "CIDATA     ", 11) == 0 ||
         memcmp(b + 43, "cidata     ", 11) == 0;
}

static std::string Mtype(const std::string& image) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return "";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY,
                                   0);
  std::string img = image;
  char arg0[] = "mtype", arg1[] = "-i", arg3[] = "::meta-data";
  char* argv[] = {arg0, arg1, img.data(), arg3, nullptr};
  std::vector<std::string> env_store = {"MTOOLS_SKIP_CHECK=1"};
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  envp.push_back(env_store[0].data());
  envp.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, "mtype", &fa, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  std::string out;
  if (rc == 0) {
    char buf[4096];
    ssize_t n;
    while ((n = read(p[0], buf, sizeof(buf))) > 0)
      out.append(buf, static_cast<size_t>(n));
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  close(p[0]);
  return out;
}

std::string GuestHostname(const std::string& cmdline, bool firmware_boot,
                          const std::vector<std::string>& disk_paths) {
  if (!firmware_boot) {
    for (absl::string_view tok :
         absl::StrSplit(cmdline, ' ', absl::SkipEmpty())) {
      if (absl::ConsumePrefix(&tok, "cocoon.hostname="))
        return std::string(tok);
    }
    return "localhost";
  }
  for (const std::string& path : disk_paths) {
    if (!IsCidata(path)) continue;
    for (absl::string_view l : absl::StrSplit(Mtype(path), '\n')) {
      if (absl::ConsumePrefix(&l, "local-hostname:")) {
        return std::string(absl::StripAsciiWhitespace(l));
      }
    }
  }
  return "localhost";
}

}  // namespace chtools::sim
