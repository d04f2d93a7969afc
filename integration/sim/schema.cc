// Table-driven serde emulation for the v51 request bodies; see schema.h.
#include "integration/sim/schema.h"

#include <arpa/inet.h>
#include <sys/random.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace chtools::sim {
namespace {

enum class Kind {
  kBool,
  kUint,  // max given by Field::max
  kString,
  kEnum,     // one of Field::variants
  kObject,   // Field::sub
  kObjects,  // array of Field::sub
  kUints,    // array of integers
  kMac,
  kIp,
  kAny,  // accepted as is (fields the simulator does not model)
};

struct Schema;

struct Field {
  const char* name;
  Kind kind;
  // Option<T>: null allowed, absent -> null (unless def is set).
  bool optional = false;
  // Non-optional without serde default: must be present.
  bool required = false;
  Json def = nullptr;
  uint64_t max = std::numeric_limits<uint64_t>::max();
  const Schema* sub = nullptr;
  std::vector<const char*> variants = {};
};

struct Schema {
  const char* name;  // serde's "struct X" in messages
  std::vector<Field> fields;
};

constexpr uint64_t kU8 = 0xff, kU16 = 0xffff, kU32 = 0xffffffffu;

const Schema kCpuFeatures{"CpuFeatures",
                          {{"amx", Kind::kBool, false, false, false}}};
const Schema kTopology{
    "CpuTopology",
    {{"threads_per_core", Kind::kUint, false, true, nullptr, kU8},
     {"cores_per_die", Kind::kUint, false, true, nullptr, kU8},
     {"dies_per_package", Kind::kUint, false, true, nullptr, kU8},
     {"packages", Kind::kUint, false, true, nullptr, kU8}}};
const Schema kCpuAffinity{"CpuAffinity",
                          {{"vcpu", Kind::kUint, false, true, nullptr, kU8},
                           {"host_cpus", Kind::kUints, false, true}}};
const Schema kQueueAffinity{
    "VirtQueueAffinity",
    {{"queue_index", Kind::kUint, false, true, nullptr, kU16},
     {"host_cpus", Kind::kUints, false, true}}};
const Schema kCpus{
    "CpusConfig",
    {{"boot_vcpus", Kind::kUint, false, true, nullptr, kU32},
     {"max_vcpus", Kind::kUint, false, true, nullptr, kU32},
     {"topology", Kind::kObject, true, false, nullptr, 0, &kTopology},
     {"kvm_hyperv", Kind::kBool, false, false, false},
     {"max_phys_bits", Kind::kUint, false, false, 46, kU8},
     {"affinity", Kind::kObjects, true, false, nullptr, 0, &kCpuAffinity},
     {"features", Kind::kObject, false, false, Json::object(), 0,
      &kCpuFeatures},
     {"nested", Kind::kBool, false, false, true}}};
const Schema kMemory{"MemoryConfig",
                     {{"size", Kind::kUint, false, true},
                      {"mergeable", Kind::kBool, false, false, false},
                      {"hotplug_method",
                       Kind::kEnum,
                       false,
                       false,
                       "Acpi",
                       0,
                       nullptr,
                       {"Acpi", "VirtioMem"}},
                      {"hotplug_size", Kind::kUint, true},
                      {"hotplugged_size", Kind::kUint, true},
                      {"shared", Kind::kBool, false, false, false},
                      {"hugepages", Kind::kBool, false, false, false},
                      {"hugepage_size", Kind::kUint, true},
                      {"prefault", Kind::kBool, false, false, false},
                      {"zones", Kind::kAny, true},
                      {"thp", Kind::kBool, false, false, true}}};
const Schema kPayload{"PayloadConfig",
                      {{"firmware", Kind::kString, true},
                       {"kernel", Kind::kString, true},
                       {"cmdline", Kind::kString, true},
                       {"initramfs", Kind::kString, true}}};
const Schema kDisk{"DiskConfig",
                   {{"path", Kind::kString, true},
                    {"readonly", Kind::kBool, false, false, false},
                    {"direct", Kind::kBool, false, false, false},
                    {"iommu", Kind::kBool, false, false, false},
                    {"num_queues", Kind::kUint, false, false, 1},
                    {"queue_size", Kind::kUint, false, false, 128, kU16},
                    {"vhost_user", Kind::kBool, false, false, false},
                    {"vhost_socket", Kind::kString, true},
                    {"rate_limit_group", Kind::kString, true},
                    {"rate_limiter_config", Kind::kAny, true},
                    {"id", Kind::kString, true},
                    {"disable_io_uring", Kind::kBool, false, false, false},
                    {"disable_aio", Kind::kBool, false, false, false},
                    {"pci_segment", Kind::kUint, false, false, 0, kU16},
                    {"serial", Kind::kString, true},
                    {"queue_affinity", Kind::kObjects, true, false, nullptr, 0,
                     &kQueueAffinity},
                    {"backing_files", Kind::kBool, false, false, false},
                    {"sparse", Kind::kBool, false, false, true},
                    {"image_type",
                     Kind::kEnum,
                     false,
                     false,
                     "Unknown",
                     0,
                     nullptr,
                     {"FixedVhd", "Qcow2", "Raw", "Vhdx", "Unknown"}}}};
const Schema kNet{"NetConfig",
                  {{"tap", Kind::kString, true},
                   {"ip", Kind::kIp, true},
                   {"mask", Kind::kIp, true},
                   {"mac", Kind::kMac, false, false, "random"},
                   {"host_mac", Kind::kMac, true},
                   {"mtu", Kind::kUint, true, false, nullptr, kU16},
                   {"iommu", Kind::kBool, false, false, false},
                   {"num_queues", Kind::kUint, false, false, 2},
                   {"queue_size", Kind::kUint, false, false, 256, kU16},
                   {"vhost_user", Kind::kBool, false, false, false},
                   {"vhost_socket", Kind::kString, true},
                   {"vhost_mode",
                    Kind::kEnum,
                    false,
                    false,
                    "Client",
                    0,
                    nullptr,
                    {"Client", "Server"}},
                   {"id", Kind::kString, true},
                   {"fds", Kind::kUints, true},
                   {"rate_limiter_config", Kind::kAny, true},
                   {"pci_segment", Kind::kUint, false, false, 0, kU16},
                   {"offload_tso", Kind::kBool, false, false, true},
                   {"offload_ufo", Kind::kBool, false, false, true},
                   {"offload_csum", Kind::kBool, false, false, true}}};
const Schema kRng{"RngConfig",
                  {{"src", Kind::kString, false, true},
                   {"iommu", Kind::kBool, false, false, false}}};
const Schema kBalloon{
    "BalloonConfig",
    {{"size", Kind::kUint, false, true},
     {"deflate_on_oom", Kind::kBool, false, false, false},
     {"free_page_reporting", Kind::kBool, false, false, false}}};
const std::vector<const char*> kModes = {"Off",  "Pty",    "Tty",
                                         "File", "Socket", "Null"};
const Schema kConsole{
    "ConsoleConfig",
    {{"file", Kind::kString, true},
     {"mode", Kind::kEnum, false, true, nullptr, 0, nullptr, kModes},
     {"iommu", Kind::kBool, false, false, false},
     {"socket", Kind::kString, true}}};
const Schema kDebugConsole{
    "DebugConsoleConfig",
    {{"file", Kind::kString, true},
     {"mode", Kind::kEnum, false, false, "Off", 0, nullptr, kModes},
     {"iobase", Kind::kUint, true, false, 233, kU16}}};

const Schema kVsock{"VsockConfig",
                    {{"cid", Kind::kUint, false, true},
                     {"socket", Kind::kString, false, true},
                     {"iommu", Kind::kBool, false, false, false},
                     {"id", Kind::kString, true},
                     {"pci_segment", Kind::kUint, false, false, 0, kU16}}};
const Schema kPlatform{
    "PlatformConfig",
    {{"num_pci_segments", Kind::kUint, false, false, 1, kU16},
     {"iommu_segments", Kind::kUints, true},
     {"iommu_address_width_bits", Kind::kUint, false, false, 48, kU8},
     {"serial_number", Kind::kString, true},
     {"uuid", Kind::kString, true},
     {"oem_strings", Kind::kAny, true}}};

const Schema kVmConfig{
    "VmConfig",
    {{"cpus", Kind::kObject, false, false,
      Json{{"boot_vcpus", 1}, {"max_vcpus", 1}}, 0, &kCpus},
     {"memory", Kind::kObject, false, false, Json{{"size", 512ull << 20}}, 0,
      &kMemory},
     {"payload", Kind::kObject, true, false, nullptr, 0, &kPayload},
     {"rate_limit_groups", Kind::kAny, true},
     {"disks", Kind::kObjects, true, false, nullptr, 0, &kDisk},
     {"net", Kind::kObjects, true, false, nullptr, 0, &kNet},
     {"rng", Kind::kObject, false, false, Json{{"src", "/dev/urandom"}}, 0,
      &kRng},
     {"balloon", Kind::kObject, true, false, nullptr, 0, &kBalloon},
     {"fs", Kind::kAny, true},
     {"pmem", Kind::kAny, true},
     {"serial", Kind::kObject, false, false, Json{{"mode", "Null"}}, 0,
      &kConsole},
     {"console", Kind::kObject, false, false, Json{{"mode", "Tty"}}, 0,
      &kConsole},
     {"debug_console", Kind::kObject, false, false, Json::object(), 0,
      &kDebugConsole},
     {"devices", Kind::kAny, true},
     {"user_devices", Kind::kAny, true},
     {"vdpa", Kind::kAny, true},
     {"vsock", Kind::kObject, true, false, nullptr, 0, &kVsock},
     {"pvpanic", Kind::kBool, false, false, false},
     {"iommu", Kind::kBool, false, false, false},
     {"numa", Kind::kAny, true},
     {"watchdog", Kind::kBool, false, false, false},
     {"pci_segments", Kind::kAny, true},
     {"platform", Kind::kObject, true, false, nullptr, 0, &kPlatform},
     {"tpm", Kind::kAny, true},
     {"landlock_enable", Kind::kBool, false, false, false},
     {"landlock_rules", Kind::kAny, true}}};

const Schema kSnapshot{"VmSnapshotConfig",
                       {{"destination_url", Kind::kString, false, true}}};
const Schema kRestore{"RestoreConfig",
                      {{"source_url", Kind::kString, false, true},
                       {"prefault", Kind::kBool, false, false, false},
                       {"net_fds", Kind::kAny, true}}};
const Schema kRemove{"VmRemoveDeviceData",
                     {{"id", Kind::kString, false, true}}};
const Schema kResize{
    "VmResizeData",
    {{"desired_vcpus", Kind::kUint, true, false, nullptr, kU32},
     {"desired_ram", Kind::kUint, true},
     {"desired_balloon", Kind::kUint, true}}};

// serde_json's description of a value in "invalid type" messages.
std::string Unexpected(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return absl::StrCat("boolean `", v.dump(), "`");
    case Json::value_t::string:
      return absl::StrCat("string ", v.dump());
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return absl::StrCat("integer `", v.dump(), "`");
    case Json::value_t::number_float:
      return absl::StrCat("floating point `", v.dump(), "`");
    case Json::value_t::array:
      return "sequence";
    case Json::value_t::object:
      return "map";
    default:
      return "value";
  }
}

std::string UintName(uint64_t max) {
  if (max == kU8) return "u8";
  if (max == kU16) return "u16";
  if (max == kU32) return "u32";
  return "u64";
}

absl::Status TypeError(const Json& v, absl::string_view expected) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid type: ", Unexpected(v), ", expected ", expected));
}

absl::StatusOr<Json> Normalize(const Schema& schema, const Json& in);

absl::StatusOr<Json> NormalizeValue(const Field& f, const Json& v) {
  switch (f.kind) {
    case Kind::kAny:
      return v;
    case Kind::kBool:
      if (!v.is_boolean()) return TypeError(v, "a boolean");
      return v;
    case Kind::kUint:
      if (v.is_number_integer() && !v.is_number_unsigned() &&
          v.get<int64_t>() < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid value: integer `", v.dump(), "`, expected ",
                         UintName(f.max)));
      }
      if (!v.is_number_unsigned() && !v.is_number_integer()) {
        return TypeError(v, UintName(f.max));
      }
      if (v.get<uint64_t>() > f.max) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid value: integer `", v.dump(), "`, expected ",
                         UintName(f.max)));
      }
      return v;
    case Kind::kString:
      if (!v.is_string()) return TypeError(v, "a string");
      return v;
    case Kind::kEnum: {
      if (!v.is_string()) return TypeError(v, "a string");
      for (const char* variant : f.variants) {
        if (v.get<std::string>() == variant) return v;
      }
      std::vector<std::string> quoted;
      for (const char* variant : f.variants)
        quoted.push_back(absl::StrCat("`", variant, "`"));
      return absl::InvalidArgumentError(
          absl::StrCat("unknown variant `", v.get<std::string>(),
                       "`, expected one of ", absl::StrJoin(quoted, ", ")));
    }
    case Kind::kObject:
      return Normalize(*f.sub, v);
    case Kind::kObjects: {
      if (!v.is_array()) return TypeError(v, "a sequence");
      Json out = Json::array();
      for (const Json& item : v) {
        absl::StatusOr<Json> n = Normalize(*f.sub, item);
        if (!n.ok()) return n.status();
        out.push_back(*std::move(n));
      }
      return out;
    }
    case Kind::kUints: {
      if (!v.is_array()) return TypeError(v, "a sequence");
      for (const Json& item : v) {
        if (!item.is_number_unsigned() &&
            !(item.is_number_integer() && item.get<int64_t>() >= 0)) {
          return TypeError(item, "i32");
        }
      }
      return v;
    }
    case Kind::kMac: {
      if (!v.is_string()) return TypeError(v, "a string");
      std::string mac = v.get<std::string>();
      if (!IsValidMac(mac)) {
        return absl::InvalidArgumentError(
            absl::StrCat("The provided MAC address is invalid: ", mac));
      }
      return Json(absl::AsciiStrToLower(mac));
    }
    case Kind::kIp: {
      if (!v.is_string()) return TypeError(v, "IP address");
      unsigned char buf[16];
      std::string s = v.get<std::string>();
      if (inet_pton(AF_INET, s.c_str(), buf) != 1 &&
          inet_pton(AF_INET6, s.c_str(), buf) != 1) {
        return absl::InvalidArgumentError("invalid IP address syntax");
      }
      return v;
    }
  }
  return v;
}

absl::StatusOr<Json> Normalize(const Schema& schema, const Json& in) {
  if (!in.is_object())
    return TypeError(in, absl::StrCat("struct ", schema.name));
  Json out = Json::object();
  for (const Field& f : schema.fields) {
    auto it = in.find(f.name);
    if (it == in.end()) {
      if (f.required) {
        return absl::InvalidArgumentError(
            absl::StrCat("missing field `", f.name, "`"));
      }
      if (f.kind == Kind::kMac && !f.optional) {
        out[f.name] = RandomMac();
      } else if (f.kind == Kind::kObject && !f.def.is_null()) {
        absl::StatusOr<Json> d = Normalize(*f.sub, f.def);
        if (!d.ok()) return d.status();
        out[f.name] = *std::move(d);
      } else {
        out[f.name] = f.def;
      }
      continue;
    }
    if (it->is_null() && (f.optional || f.kind == Kind::kAny)) {
      out[f.name] = nullptr;
      continue;
    }
    absl::StatusOr<Json> v = NormalizeValue(f, *it);
    if (!v.ok()) return v.status();
    out[f.name] = *std::move(v);
  }
  return out;
}

}  // namespace

absl::StatusOr<Json> NormalizeVmConfig(const Json& in) {
  return Normalize(kVmConfig, in);
}
absl::StatusOr<Json> NormalizeDiskConfig(const Json& in) {
  return Normalize(kDisk, in);
}
absl::StatusOr<Json> NormalizeNetConfig(const Json& in) {
  return Normalize(kNet, in);
}
absl::StatusOr<Json> NormalizeSnapshotConfig(const Json& in) {
  return Normalize(kSnapshot, in);
}
absl::StatusOr<Json> NormalizeRestoreConfig(const Json& in) {
  return Normalize(kRestore, in);
}
absl::StatusOr<Json> NormalizeRemoveDevice(const Json& in) {
  return Normalize(kRemove, in);
}
absl::StatusOr<Json> NormalizeResize(const Json& in) {
  return Normalize(kResize, in);
}

std::string RandomMac() {
  unsigned char b[6] = {};
  if (getrandom(b, sizeof(b), 0) != sizeof(b)) {
    for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(rand());
  }
  b[0] = static_cast<unsigned char>((b[0] & 0xfe) | 0x02);
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2],
                         b[3], b[4], b[5]);
}

bool IsValidMac(const std::string& mac) {
  if (mac.size() != 17) return false;
  for (size_t i = 0; i < mac.size(); ++i) {
    if (i % 3 == 2) {
      if (mac[i] != ':') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(mac[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace chtools::sim
