#include "lib/record/validate.h"

#include <arpa/inet.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/descriptor.h"
#include "lib/base/status_macros.h"
#include "lib/record/ids.h"
#include "lib/record/printable.h"
#include "lib/record/timestamps.h"
#include "re2/re2.h"

namespace chtools::record {
namespace {

re2::StringPiece Piece(absl::string_view s) {
  return re2::StringPiece(s.data(), s.size());
}

std::string Join(absl::string_view path, absl::string_view field) {
  if (path.empty()) return std::string(field);
  if (field.empty()) return std::string(path);
  return absl::StrCat(path, field[0] == '[' ? "" : ".", field);
}

absl::Status Invalid(absl::string_view path, absl::string_view field,
                     absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(Join(path, field), ": ", what));
}

// A field value inside an error message: quoted, with control characters
// escaped (the message ends up on a terminal).
std::string Quote(absl::string_view value) {
  return absl::StrCat(
      "\"", absl::StrReplaceAll(Printable(value), {{"\"", "\\\""}}), "\"");
}

using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;

bool IsPathField(const FieldDescriptor& f) {
  absl::string_view n = f.name();
  return n == "path" || absl::EndsWith(n, "_path") ||
         absl::EndsWith(n, "_dir") || absl::EndsWith(n, "_socket");
}

size_t MaxBytes(const FieldDescriptor& f) {
  if (IsPathField(f) || f.full_name() == "chtools.BootConfig.cmdline") {
    return kMaxPathBytes;
  }
  return kMaxTextBytes;
}

int MaxEntries(const FieldDescriptor& f) {
  if (f.full_name() == "chtools.Vm.storage" ||
      f.full_name() == "chtools.Snapshot.storage") {
    return kMaxDisks;
  }
  if (f.full_name() == "chtools.Vm.network") return kMaxNics;
  return kMaxRepeated;
}

absl::Status CheckString(const FieldDescriptor& f, absl::string_view value,
                         absl::string_view path) {
  if (value.size() > MaxBytes(f)) {
    return Invalid(path, "",
                   absl::StrCat(value.size(), " bytes is too long: at most ",
                                MaxBytes(f), " bytes"));
  }
  if (f.type() == FieldDescriptor::TYPE_STRING) {
    size_t bad = FirstInvalidUtf8(value);
    if (bad != absl::string_view::npos) {
      return Invalid(path, "",
                     absl::StrCat("is not valid UTF-8 (byte ", bad,
                                  "): text fields must be UTF-8"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckId(absl::string_view id, absl::string_view path,
                     absl::string_view field, bool required) {
  if (id.empty() && !required) return absl::OkStatus();
  if (id.empty()) {
    return Invalid(path, field,
                   "missing: expected 16 lowercase hex characters");
  }
  if (!IsValidId(id)) {
    return Invalid(path, field,
                   absl::StrCat(Quote(id),
                                " is invalid: expected 16 lowercase hex "
                                "characters"));
  }
  return absl::OkStatus();
}

// An absolute path that CH's comma-separated option syntax can carry.
absl::Status CheckPath(absl::string_view p, absl::string_view path,
                       absl::string_view field, bool required) {
  if (p.empty()) {
    if (!required) return absl::OkStatus();
    return Invalid(path, field, "missing: expected an absolute path");
  }
  if (p[0] != '/') {
    return Invalid(path, field,
                   absl::StrCat(Quote(p), " is not an absolute path"));
  }
  if (absl::StrContains(p, ',') || absl::StrContains(p, '\n') ||
      absl::StrContains(p, '\0')) {
    return Invalid(path, field,
                   absl::StrCat(Quote(p),
                                " contains ',', a newline or NUL, which "
                                "Cloud Hypervisor's option syntax cannot "
                                "carry"));
  }
  return absl::OkStatus();
}

absl::Status CheckTime(absl::string_view t, absl::string_view path,
                       absl::string_view field) {
  if (t.empty()) return absl::OkStatus();
  absl::StatusOr<absl::Time> parsed = ParseTime(t);
  if (!parsed.ok()) return Invalid(path, field, parsed.status().message());
  return absl::OkStatus();
}

absl::Status CheckIpv4(absl::string_view ip, absl::string_view path,
                       absl::string_view field, bool required) {
  if (ip.empty()) {
    if (!required) return absl::OkStatus();
    return Invalid(path, field, "missing: expected a dotted-quad IPv4 address");
  }
  if (!IsIpv4(ip)) {
    return Invalid(path, field,
                   absl::StrCat(Quote(ip),
                                " is not an IPv4 address (expected a dotted "
                                "quad like 10.0.0.2)"));
  }
  return absl::OkStatus();
}

absl::Status CheckHex(absl::string_view hex, absl::string_view path,
                      absl::string_view field, size_t exact_len) {
  static const re2::RE2 kHex("[0-9a-f]+");
  if (!re2::RE2::FullMatch(Piece(hex), kHex) ||
      (exact_len != 0 && hex.size() != exact_len)) {
    return Invalid(path, field,
                   absl::StrCat(Quote(hex), " is invalid: expected ",
                                exact_len != 0 ? absl::StrCat(exact_len, " ")
                                               : std::string(),
                                "lowercase hex characters"));
  }
  return absl::OkStatus();
}

// The upper bounds on resources, shared by VMs and snapshots (whose values
// are the minimums for a clone). Plain comparisons of int64 values: nothing
// here can overflow, whatever a record holds.
absl::Status CheckResources(int64_t cpu, int64_t memory_bytes,
                            int64_t storage_bytes, absl::string_view path) {
  if (cpu > kMaxCpus) {
    return Invalid(path, "cpu",
                   absl::StrCat(cpu, " is too large: at most ", kMaxCpus,
                                " vCPUs (Cloud Hypervisor's limit on x86_64)"));
  }
  if (memory_bytes > kMaxMemoryBytes) {
    return Invalid(path, "memory_bytes",
                   absl::StrCat(memory_bytes, " is too large: at most ",
                                kMaxMemoryBytes, " (16 TiB)"));
  }
  if (storage_bytes > kMaxStorageBytes) {
    return Invalid(path, "storage_bytes",
                   absl::StrCat(storage_bytes, " is too large: at most ",
                                kMaxStorageBytes, " (64 TiB)"));
  }
  return absl::OkStatus();
}

// A direct-boot guest finds its read-only layers by serial, so there a
// read-only disk without one is an error (cocoon put an empty layer name into
// the kernel cmdline). Firmware-booted VMs have a serial-less read-only
// cidata.img by design (docs/cocoon-lessons.md §4.1).
absl::Status ValidateStorage(const StorageConfig& s, absl::string_view path,
                             bool direct_boot) {
  RETURN_IF_ERROR(CheckPath(s.path(), path, "path", /*required=*/true));
  if (direct_boot && s.ro() && s.serial().empty()) {
    return Invalid(
        path, "serial",
        "missing: a read-only disk of a direct-boot VM needs a serial "
        "(the guest finds its layers by serial, e.g. "
        "\"cocoon-layer0\")");
  }
  // virtio-blk serials are at most 20 bytes (VIRTIO_BLK_ID_BYTES).
  if (s.serial().size() > 20) {
    return Invalid(
        path, "serial",
        absl::StrCat(Quote(s.serial()), " is too long: at most 20 characters"));
  }
  static const re2::RE2 kSerial("[A-Za-z0-9._-]*");
  if (!re2::RE2::FullMatch(Piece(s.serial()), kSerial)) {
    return Invalid(path, "serial",
                   absl::StrCat(Quote(s.serial()),
                                " is invalid: expected letters, digits, "
                                "'.', '_' or '-'"));
  }
  return absl::OkStatus();
}

// A guest NIC's MAC: six hex pairs, unicast (the low bit of the first octet
// marks a group address, which no NIC may send from), not all zeros.
absl::Status CheckMac(absl::string_view mac, absl::string_view path) {
  static const re2::RE2 kMac("[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}");
  if (!re2::RE2::FullMatch(Piece(mac), kMac)) {
    return Invalid(path, "mac",
                   absl::StrCat(Quote(mac),
                                " is invalid: expected six hex pairs like "
                                "02:42:0a:58:00:05"));
  }
  auto hex = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  int first = hex(mac[0]) * 16 + hex(mac[1]);
  if (absl::AsciiStrToLower(mac) == "ff:ff:ff:ff:ff:ff") {
    return Invalid(path, "mac",
                   absl::StrCat(Quote(mac),
                                " is the broadcast address: a NIC needs a "
                                "unicast MAC like 02:42:0a:58:00:05"));
  }
  if ((first & 1) != 0) {
    return Invalid(path, "mac",
                   absl::StrCat(Quote(mac),
                                " is a multicast address (low bit of the first "
                                "octet set): a NIC needs a unicast MAC like "
                                "02:42:0a:58:00:05"));
  }
  if (mac == "00:00:00:00:00:00") {
    return Invalid(path, "mac",
                   absl::StrCat(Quote(mac),
                                " is all zeros: a NIC needs a unicast MAC like "
                                "02:42:0a:58:00:05"));
  }
  return absl::OkStatus();
}

// A dotted quad as a host-order number (the caller checked IsIpv4).
uint32_t Ipv4Number(absl::string_view ip) {
  in_addr a{};
  ::inet_pton(AF_INET, std::string(ip).c_str(), &a);
  return ntohl(a.s_addr);
}

// Why `addr` cannot be a host address of a /`prefix` subnet, or "" if it can.
std::string NotAHost(uint32_t addr, int prefix) {
  if (addr == 0) return "is the unspecified address 0.0.0.0";
  if (addr == 0xffffffffu) return "is the broadcast address 255.255.255.255";
  if ((addr >> 24) == 127) return "is a loopback address (127.0.0.0/8)";
  if ((addr >> 28) == 0xe) return "is a multicast address (224.0.0.0/4)";
  // /31 (RFC 3021) and /32 have no network or broadcast address.
  if (prefix <= 30) {
    uint32_t host_mask = 0xffffffffu >> prefix;
    if ((addr & host_mask) == 0) {
      return absl::StrCat("is the network address of its /", prefix,
                          " subnet, not a host address");
    }
    if ((addr & host_mask) == host_mask) {
      return absl::StrCat("is the broadcast address of its /", prefix,
                          " subnet, not a host address");
    }
  }
  return "";
}

// A static address: ip a host of its subnet; the gateway, if any, another
// host of the same subnet (the guest must reach it without a route).
absl::Status ValidateIpv4(const Ipv4Config& v4, absl::string_view path) {
  RETURN_IF_ERROR(CheckIpv4(v4.ip(), path, "ip", true));
  RETURN_IF_ERROR(CheckIpv4(v4.gateway(), path, "gateway", false));
  int prefix = v4.prefix();
  if (prefix < 1 || prefix > 32) {
    return Invalid(path, "prefix",
                   absl::StrCat(prefix, " is out of range: expected 1..32"));
  }
  uint32_t ip = Ipv4Number(v4.ip());
  if (std::string why = NotAHost(ip, prefix); !why.empty()) {
    return Invalid(path, "ip", absl::StrCat(Quote(v4.ip()), " ", why));
  }
  if (v4.gateway().empty()) return absl::OkStatus();
  uint32_t gw = Ipv4Number(v4.gateway());
  // A shift by 32 is undefined: /32 is its own all-ones mask (found by
  // textproto_fuzzer, testdata/fuzz/textproto_fuzzer/crash-prefix32-gateway).
  uint32_t net_mask = prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
  if (gw == ip) {
    return Invalid(path, "gateway",
                   absl::StrCat(Quote(v4.gateway()),
                                " is the NIC's own address: a gateway is "
                                "another host of the subnet"));
  }
  if ((gw & net_mask) != (ip & net_mask)) {
    return Invalid(
        path, "gateway",
        absl::StrCat(Quote(v4.gateway()), " is outside the subnet ", v4.ip(),
                     "/", prefix, ": the guest could not reach it"));
  }
  if (std::string why = NotAHost(gw, prefix); !why.empty()) {
    return Invalid(path, "gateway",
                   absl::StrCat(Quote(v4.gateway()), " ", why));
  }
  return absl::OkStatus();
}

absl::Status ValidateNetwork(const NetworkConfig& n, absl::string_view path) {
  static const re2::RE2 kTap("[A-Za-z0-9._-]{1,15}");
  if (!re2::RE2::FullMatch(Piece(n.tap()), kTap)) {
    return Invalid(path, "tap",
                   absl::StrCat(Quote(n.tap()),
                                " is invalid: expected an interface name of "
                                "1-15 letters, digits, '.', '_' or '-'"));
  }
  RETURN_IF_ERROR(CheckMac(n.mac(), path));
  // CH pairs queues as rx+tx, so a count must be even; 0 means its default.
  if (n.num_queues() < 0 || n.num_queues() % 2 != 0) {
    return Invalid(path, "num_queues",
                   absl::StrCat(n.num_queues(),
                                " is invalid: expected 0 (default) or a "
                                "positive even number"));
  }
  int q = n.queue_size();
  if (q < 0 || q > 32768 || (q & (q - 1)) != 0) {
    return Invalid(path, "queue_size",
                   absl::StrCat(q,
                                " is invalid: expected 0 (default) or a power "
                                "of two up to 32768"));
  }
  RETURN_IF_ERROR(CheckPath(n.netns_path(), path, "netns_path", false));
  if (n.has_ipv4()) RETURN_IF_ERROR(ValidateIpv4(n.ipv4(), Join(path, "ipv4")));
  return absl::OkStatus();
}

absl::Status ValidateBoot(const BootConfig& b, absl::string_view path) {
  RETURN_IF_ERROR(CheckPath(b.kernel_path(), path, "kernel_path", false));
  RETURN_IF_ERROR(CheckPath(b.initrd_path(), path, "initrd_path", false));
  RETURN_IF_ERROR(CheckPath(b.firmware_path(), path, "firmware_path", false));
  if (!b.initrd_path().empty() && b.kernel_path().empty()) {
    return Invalid(path, "initrd_path",
                   "set without kernel_path: an initramfs needs direct boot");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateFieldBounds(const Message& m,
                                 absl::string_view field_path) {
  const Reflection& r = *m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r.ListFields(m, &fields);
  std::string scratch;
  for (const FieldDescriptor* f : fields) {
    std::string path = Join(field_path, f->name());
    bool is_string = f->cpp_type() == FieldDescriptor::CPPTYPE_STRING;
    bool is_message = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (!f->is_repeated()) {
      if (is_string) {
        RETURN_IF_ERROR(
            CheckString(*f, r.GetStringReference(m, f, &scratch), path));
      } else if (is_message) {
        RETURN_IF_ERROR(ValidateFieldBounds(r.GetMessage(m, f), path));
      }
      continue;
    }
    int n = r.FieldSize(m, f);
    if (n > MaxEntries(*f)) {
      return Invalid(
          path, "",
          absl::StrCat(n, " entries are too many: at most ", MaxEntries(*f)));
    }
    for (int i = 0; i < n && (is_string || is_message); ++i) {
      std::string item = absl::StrCat(path, "[", i, "]");
      if (is_string) {
        RETURN_IF_ERROR(CheckString(
            *f, r.GetRepeatedStringReference(m, f, i, &scratch), item));
      } else {
        RETURN_IF_ERROR(
            ValidateFieldBounds(r.GetRepeatedMessage(m, f, i), item));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateName(absl::string_view name,
                          absl::string_view field_path) {
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field_path, ": missing: a VM needs a name matching ", kNamePattern));
  }
  if (IsValidId(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field_path, ": ", Quote(name),
        " is invalid: 16 lowercase hex characters are a VM id, not a name"));
  }
  if (!IsValidName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field_path, ": ", Quote(name), " is invalid: must match ",
                     kNamePattern, " (1-63 characters)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateVmConfig(const VmConfig& c, absl::string_view field_path) {
  RETURN_IF_ERROR(ValidateFieldBounds(c, field_path));
  RETURN_IF_ERROR(ValidateName(c.name(), Join(field_path, "name")));
  if (c.cpu() < 1) {
    return Invalid(field_path, "cpu",
                   absl::StrCat(c.cpu(), " is too small: at least 1 vCPU"));
  }
  RETURN_IF_ERROR(
      CheckResources(c.cpu(), c.memory_bytes(), c.storage_bytes(), field_path));
  if (c.memory_bytes() < kMinMemoryBytes) {
    return Invalid(field_path, "memory_bytes",
                   absl::StrCat(c.memory_bytes(),
                                " is too small: at least 536870912 (512 MiB)"));
  }
  if (c.memory_bytes() % kPageBytes != 0) {
    return Invalid(field_path, "memory_bytes",
                   absl::StrCat(c.memory_bytes(),
                                " is not a multiple of 4096: guest memory is "
                                "mapped in whole 4 KiB pages"));
  }
  if (c.storage_bytes() < kMinStorageBytes) {
    return Invalid(
        field_path, "storage_bytes",
        absl::StrCat(c.storage_bytes(),
                     " is too small: at least 10737418240 (10 GiB)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateVm(const Vm& vm, absl::string_view field_path) {
  // First, so that no later message quotes a huge or undecodable value.
  RETURN_IF_ERROR(ValidateFieldBounds(vm, field_path));
  RETURN_IF_ERROR(CheckId(vm.id(), field_path, "id", /*required=*/true));
  if (vm.state() == Vm::STATE_UNSPECIFIED || !Vm::State_IsValid(vm.state())) {
    return Invalid(field_path, "state",
                   "missing: expected CREATING, CREATED, RUNNING, STOPPED or "
                   "ERROR");
  }
  if (!vm.has_config()) {
    return Invalid(field_path, "config",
                   "missing: a VM needs a name, cpu, memory and storage");
  }
  RETURN_IF_ERROR(ValidateVmConfig(vm.config(), Join(field_path, "config")));
  if (vm.config().windows() && !vm.boot().kernel_path().empty()) {
    return Invalid(field_path, "config.windows",
                   "a Windows guest boots from UEFI firmware, not from a "
                   "direct kernel (boot.kernel_path is set)");
  }
  for (int i = 0; i < vm.storage_size(); ++i) {
    RETURN_IF_ERROR(ValidateStorage(
        vm.storage(i), Join(field_path, absl::StrCat("storage[", i, "]")),
        /*direct_boot=*/!vm.boot().kernel_path().empty()));
  }
  for (int i = 0; i < vm.network_size(); ++i) {
    RETURN_IF_ERROR(ValidateNetwork(
        vm.network(i), Join(field_path, absl::StrCat("network[", i, "]"))));
  }
  RETURN_IF_ERROR(ValidateBoot(vm.boot(), Join(field_path, "boot")));
  for (int i = 0; i < vm.image_blob_ids_size(); ++i) {
    RETURN_IF_ERROR(CheckHex(vm.image_blob_ids(i), field_path,
                             absl::StrCat("image_blob_ids[", i, "]"), 0));
  }
  RETURN_IF_ERROR(CheckPath(vm.run_dir(), field_path, "run_dir", false));
  RETURN_IF_ERROR(CheckPath(vm.log_dir(), field_path, "log_dir", false));
  for (int i = 0; i < vm.snapshot_ids_size(); ++i) {
    RETURN_IF_ERROR(CheckId(vm.snapshot_ids(i), field_path,
                            absl::StrCat("snapshot_ids[", i, "]"), true));
  }
  if (vm.pid() < 0) {
    return Invalid(
        field_path, "pid",
        absl::StrCat(vm.pid(), " is invalid: expected a process id"));
  }
  RETURN_IF_ERROR(CheckPath(vm.api_socket(), field_path, "api_socket", false));
  RETURN_IF_ERROR(CheckTime(vm.created_at(), field_path, "created_at"));
  RETURN_IF_ERROR(CheckTime(vm.updated_at(), field_path, "updated_at"));
  RETURN_IF_ERROR(CheckTime(vm.started_at(), field_path, "started_at"));
  RETURN_IF_ERROR(CheckTime(vm.stopped_at(), field_path, "stopped_at"));
  return absl::OkStatus();
}

absl::Status ValidateSnapshot(const Snapshot& s, absl::string_view field_path) {
  RETURN_IF_ERROR(ValidateFieldBounds(s, field_path));
  RETURN_IF_ERROR(CheckId(s.id(), field_path, "id", /*required=*/true));
  // Cocoon never validated snapshot names; hold them to the VM name rule.
  if (!s.name().empty()) {
    RETURN_IF_ERROR(ValidateName(s.name(), Join(field_path, "name")));
  }
  RETURN_IF_ERROR(CheckId(s.source_vm_id(), field_path, "source_vm_id", false));
  for (int i = 0; i < s.image_blob_ids_size(); ++i) {
    RETURN_IF_ERROR(CheckHex(s.image_blob_ids(i), field_path,
                             absl::StrCat("image_blob_ids[", i, "]"), 0));
  }
  if (s.cpu() < 0 || s.memory_bytes() < 0 || s.storage_bytes() < 0 ||
      s.nics() < 0) {
    return Invalid(field_path,
                   s.cpu() < 0             ? "cpu"
                   : s.memory_bytes() < 0  ? "memory_bytes"
                   : s.storage_bytes() < 0 ? "storage_bytes"
                                           : "nics",
                   "is negative: expected 0 or more");
  }
  RETURN_IF_ERROR(
      CheckResources(s.cpu(), s.memory_bytes(), s.storage_bytes(), field_path));
  if (s.nics() > kMaxNics) {
    return Invalid(field_path, "nics",
                   absl::StrCat(s.nics(), " is too large: at most ", kMaxNics));
  }
  for (int i = 0; i < s.files_size(); ++i) {
    const SnapshotFile& f = s.files(i);
    std::string fpath = Join(field_path, absl::StrCat("files[", i, "]"));
    if (f.name().empty() || f.name() == "." || f.name() == ".." ||
        absl::StrContains(f.name(), '/') || absl::StrContains(f.name(), '\0')) {
      return Invalid(fpath, "name",
                     absl::StrCat(Quote(f.name()),
                                  " is invalid: expected a plain file name "
                                  "without '/'"));
    }
    if (f.size_bytes() < 0) {
      return Invalid(fpath, "size_bytes", "is negative: expected 0 or more");
    }
    if (!f.sha256().empty()) {
      RETURN_IF_ERROR(CheckHex(f.sha256(), fpath, "sha256", 64));
    }
  }
  RETURN_IF_ERROR(CheckTime(s.created_at(), field_path, "created_at"));
  RETURN_IF_ERROR(CheckPath(s.data_dir(), field_path, "data_dir", false));
  RETURN_IF_ERROR(ValidateBoot(s.boot(), Join(field_path, "boot")));
  for (int i = 0; i < s.storage_size(); ++i) {
    RETURN_IF_ERROR(ValidateStorage(
        s.storage(i), Join(field_path, absl::StrCat("storage[", i, "]")),
        s.direct_boot()));
  }
  return absl::OkStatus();
}

absl::Status ValidateRecords(const Records& records) {
  absl::flat_hash_map<std::string, int> ids;
  absl::flat_hash_map<std::string, int> names;
  for (int i = 0; i < records.vm_size(); ++i) {
    const Vm& vm = records.vm(i);
    std::string path = absl::StrCat("vm[", i, "]");
    RETURN_IF_ERROR(ValidateVm(vm, path));
    if (auto [it, added] = ids.emplace(vm.id(), i); !added) {
      return Invalid(path, "id",
                     absl::StrCat(Quote(vm.id()), " is also the id of vm[",
                                  it->second, "]: ids must be unique"));
    }
    if (auto [it, added] = names.emplace(vm.config().name(), i); !added) {
      return Invalid(
          path, "config.name",
          absl::StrCat(Quote(vm.config().name()), " is also the name of vm[",
                       it->second, "]: names must be unique"));
    }
  }
  absl::flat_hash_map<std::string, int> snapshot_ids;
  for (int i = 0; i < records.snapshot_size(); ++i) {
    std::string path = absl::StrCat("snapshot[", i, "]");
    RETURN_IF_ERROR(ValidateSnapshot(records.snapshot(i), path));
    if (auto [it, added] = snapshot_ids.emplace(records.snapshot(i).id(), i);
        !added) {
      return Invalid(path, "id",
                     absl::StrCat(Quote(records.snapshot(i).id()),
                                  " is also the id of snapshot[", it->second,
                                  "]: ids must be unique"));
    }
  }
  return absl::OkStatus();
}

}  // namespace chtools::record
