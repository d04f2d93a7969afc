// The simulated guest: RAM that really lives in this process (an anonymous
// mapping, so it is sparse) and a tiny shell on the console/serial devices.
// Its state (hostname, booted flag, mem-marker) is kept in guest RAM, so it
// survives snapshot/restore exactly as far as memory-ranges carries it.
#ifndef CHTOOLS_INTEGRATION_SIM_GUEST_H_
#define CHTOOLS_INTEGRATION_SIM_GUEST_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "integration/sim/console.h"
#include "integration/sim/devices.h"

namespace chtools::sim {

class GuestMemory {
 public:
  // Maps `size` bytes of zeroed anonymous memory (MAP_NORESERVE).
  static absl::StatusOr<std::unique_ptr<GuestMemory>> Create(uint64_t size);
  ~GuestMemory();
  uint64_t size() const { return size_; }
  unsigned char* data() { return data_; }

  // A length-prefixed string slot at a fixed guest address (slot 0: hostname,
  // 1: mem-marker, 2: booted flag); empty when never written.
  std::string ReadSlot(int slot) const;
  void WriteSlot(int slot, absl::string_view value);

 private:
  GuestMemory(unsigned char* data, uint64_t size) : data_(data), size_(size) {}
  uint64_t SlotOffset(int slot) const;
  unsigned char* data_;
  uint64_t size_;
};

// What the guest can see of its virtual hardware, asked for on demand.
struct GuestHardware {
  std::string cmdline;  // /proc/cmdline
  int vcpus = 1;
  uint64_t memory_size = 0;
  std::vector<std::string> nic_macs;  // eth0, eth1, ...
  DiskDevice* marker_disk = nullptr;  // first writable disk or null
};

// Disk-marker storage on a disk: the last 4 KiB of a raw image, or the tail
// of a qcow2 image's (otherwise unused) header cluster.
absl::Status WriteDiskMarker(DiskDevice& disk, absl::string_view value);
absl::StatusOr<std::string> ReadDiskMarker(DiskDevice& disk);

class Guest {
 public:
  struct Hooks {
    std::function<GuestHardware()> hardware;
    std::function<void()> poweroff;  // the guest powered off
    std::function<void()> reboot;    // the guest asked for a reboot
  };
  Guest(GuestMemory* memory, Hooks hooks);

  // Attaches a console/serial device: boot output and a shell go there.
  void Attach(ConsoleDevice* dev);
  // Cold boot: stores `hostname` in RAM, prints boot messages and a prompt.
  void Boot(absl::string_view hostname);
  // Paused guests queue input; Run() processes what was queued.
  void SetRunning(bool running);
  // ACPI power button: the guest shuts down (prints and powers off).
  void PowerButton();

 private:
  void OnInput(ConsoleDevice* dev, absl::string_view bytes);
  void Drain(ConsoleDevice* dev);
  void Execute(ConsoleDevice* dev, const std::string& line);
  std::string Prompt() const;
  // Guest output as a Linux guest's console sends it: "\n" becomes "\r\n".
  void Print(ConsoleDevice* dev, absl::string_view text);

  GuestMemory* memory_;
  Hooks hooks_;
  bool running_ = false;
  std::vector<ConsoleDevice*> devices_;
  std::map<ConsoleDevice*, std::string> pending_;
};

// The hostname a guest would pick: cocoon.hostname= from a direct-boot
// cmdline; local-hostname from the meta-data of a CIDATA (FAT) disk for
// firmware boot (read with mtools' mtype); else "localhost".
std::string GuestHostname(const std::string& cmdline, bool firmware_boot,
                          const std::vector<std::string>& disk_paths);

}  // namespace chtools::sim

#endif  // CHTOOLS_INTEGRATION_SIM_GUEST_H_
