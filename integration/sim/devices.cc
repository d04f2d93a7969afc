// Disk and tap devices; see devices.h.
#include "integration/sim/devices.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace chtools::sim {
namespace {

uint64_t Be(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

absl::Status DevErr(absl::string_view what, int err) {
  return absl::InternalError(absl::StrCat(what, "\n", OsErrorText(err)));
}

}  // namespace

std::string OsErrorText(int err) {
  return absl::StrCat(strerror(err), " (os error ", err, ")");
}

absl::StatusOr<std::unique_ptr<DiskDevice>> OpenDisk(const Json& cfg) {
  auto d = std::make_unique<DiskDevice>();
  d->path = cfg["path"].is_string() ? cfg["path"].get<std::string>() : "";
  d->readonly = cfg.value("readonly", false);
  if (!cfg["id"].is_null()) d->id = cfg["id"].get<std::string>();
  int flags = (d->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  if (cfg.value("direct", false)) flags |= O_DIRECT;
  int fd = open(d->path.c_str(), flags);
  if (fd < 0) return DevErr("Cannot open disk path", errno);
  d->fd.reset(fd);
  struct stat st;
  if (fstat(fd, &st) < 0) return DevErr("Cannot open disk path", errno);
  d->file_size = static_cast<uint64_t>(st.st_size);
  // Headers are read through a plain descriptor: O_DIRECT needs aligned I/O.
  int hfd = open(d->path.c_str(), O_RDONLY | O_CLOEXEC);
  if (hfd < 0) return DevErr("Cannot open disk path", errno);
  UniqueFd header_fd(hfd);
  unsigned char block[4096];
  ssize_t n = pread(hfd, block, sizeof(block), 0);
  if (n < 512) {
    return absl::InternalError(
        "Failed to detect disk image type\nfailed to fill whole buffer");
  }
  bool qcow2 = memcmp(block, "QFI\xfb", 4) == 0;
  std::string detected = qcow2                               ? "Qcow2"
                         : memcmp(block, "vhdxfile", 8) == 0 ? "Vhdx"
                                                             : "Raw";
  std::string specified = cfg.value("image_type", "Unknown");
  if (specified != "Unknown" && specified != detected) {
    return absl::InternalError(absl::StrCat(
        "Disk image type does not match expected type: specified = ",
        absl::AsciiStrToLower(specified),
        ", detected = ", absl::AsciiStrToLower(detected)));
  }
  d->image_type = detected;
  if (qcow2) {
    uint64_t version = Be(block + 4, 4);
    uint64_t backing_off = Be(block + 8, 8);
    uint64_t backing_len = Be(block + 16, 4);
    uint64_t cluster_bits = Be(block + 20, 4);
    if ((version != 2 && version != 3) || cluster_bits < 9 ||
        cluster_bits > 21) {
      return absl::InternalError(
          "Failed to create QcowDiskSync\nInvalid QCOW2 header");
    }
    d->qcow2_cluster_size = 1ull << cluster_bits;
    uint64_t header_len = version == 3 ? Be(block + 100, 4) : 72;
    d->qcow2_header_end =
        std::max<uint64_t>(header_len, backing_off + backing_len);
    if (backing_off != 0 && backing_len != 0) {
      if (!cfg.value("backing_files", false)) {
        return absl::InternalError(
            "Failed to create QcowDiskSync\nBacking file support is disabled");
      }
      std::string name(backing_len, '\0');
      if (backing_len > 1023 || pread(hfd, name.data(), backing_len,
                                      static_cast<off_t>(backing_off)) !=
                                    static_cast<ssize_t>(backing_len)) {
        return absl::InternalError(
            "Failed to create QcowDiskSync\nInvalid backing file name");
      }
      std::string full = name;
      if (!name.empty() && name[0] != '/') {
        size_t slash = d->path.rfind('/');
        full = slash == std::string::npos ? name
                                          : d->path.substr(0, slash + 1) + name;
      }
      if (access(full.c_str(), R_OK) != 0) {
        return absl::InternalError(absl::StrCat(
            "Failed to create QcowDiskSync\nBacking file open error: ",
            OsErrorText(errno)));
      }
    }
  }
  return d;
}

absl::Status LockDisk(DiskDevice& disk) {
  struct flock fl {};
  fl.l_type = disk.readonly ? F_RDLCK : F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = static_cast<off_t>(disk.file_size);
  if (fcntl(disk.fd.get(), F_OFD_SETLK, &fl) < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Error locking disk images: Another instance likely holds a lock\n",
        OsErrorText(errno)));
  }
  disk.locked = true;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<NetDevice>> OpenNet(const Json& cfg) {
  auto n = std::make_unique<NetDevice>();
  if (!cfg["id"].is_null()) n->id = cfg["id"].get<std::string>();
  n->mac = cfg["mac"].get<std::string>();
  std::string want =
      cfg["tap"].is_string() ? cfg["tap"].get<std::string>() : "";
  uint64_t pairs = cfg.value("num_queues", 2ull) / 2;
  if (pairs == 0) pairs = 1;
  if (want.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(
        "Cannot create virtio-net device\nOpen tap device failed\n"
        "Invalid interface name");
  }
  std::string name = want.empty() ? "vmtap%d" : want;
  for (uint64_t q = 0; q < pairs; ++q) {
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      return DevErr("Cannot create virtio-net device\nOpen tap device failed",
                    errno);
    }
    UniqueFd owned(fd);
    ifreq ifr{};
    strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (pairs > 1) ifr.ifr_flags |= IFF_MULTI_QUEUE;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
      return DevErr(
          absl::StrCat("Cannot create virtio-net device\nOpen tap device "
                       "failed\nUnable to configure tap interface ",
                       name),
          errno);
    }
    name = ifr.ifr_name;  // resolves "vmtap%d"
    n->queue_fds.push_back(std::move(owned));
  }
  n->tap = name;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s >= 0) {
    UniqueFd sock(s);
    ifreq ifr{};
    strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFHWADDR, &ifr) == 0) {
      const unsigned char* m =
          reinterpret_cast<const unsigned char*>(ifr.ifr_hwaddr.sa_data);
      n->host_mac = absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
                                    m[2], m[3], m[4], m[5]);
    }
    ifreq up{};
    strncpy(up.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFFLAGS, &up) == 0) {
      up.ifr_flags |= IFF_UP | IFF_RUNNING;
      if (ioctl(s, SIOCSIFFLAGS, &up) < 0) {
        return DevErr("Cannot create virtio-net device\nUnable to enable tap",
                      errno);
      }
    }
  }
  return n;
}

}  // namespace chtools::sim
