// CLI -> VmConfig and validation; see vm_config.h.
#include "integration/sim/vm_config.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "integration/sim/kv_parser.h"

namespace chtools::sim {
namespace {

absl::Status Ctx(const std::string& opt, const absl::Status& s) {
  return absl::InvalidArgumentError(
      absl::StrCat("Error parsing --", opt, "\n", s.message()));
}

#define SIM_TRY(opt, lhs, expr)                           \
  auto lhs##_or = (expr);                                 \
  if (!lhs##_or.ok()) return Ctx(opt, lhs##_or.status()); \
  auto lhs = *lhs##_or

// `[i@[cpus],...]` (--cpus affinity=, --disk queue_affinity=) as CH's JSON
// list of {index_key: i, "host_cpus": [...]}; nullopt if it does not parse.
std::optional<Json> TupleListJson(absl::string_view value,
                                  const char* index_key) {
  auto t = ParseTupleList(value);
  if (!t) return std::nullopt;
  Json arr = Json::array();
  for (auto& [index, host] : *t) {
    arr.push_back(Json{{index_key, index}, {"host_cpus", host}});
  }
  return arr;
}

void SetBool(Json& j, const char* key, const std::optional<bool>& v) {
  if (v) j[key] = *v;
}

absl::StatusOr<Json> ParseCpus(const std::string& s) {
  KvOptions o({"boot", "max", "topology", "kvm_hyperv", "max_phys_bits",
               "affinity", "features", "nested"});
  if (absl::Status st = o.Parse(s); !st.ok()) return Ctx("cpus", st);
  Json j = Json::object();
  SIM_TRY("cpus", boot, o.GetU64("boot"));
  SIM_TRY("cpus", max, o.GetU64("max"));
  SIM_TRY("cpus", bits, o.GetU64("max_phys_bits"));
  SIM_TRY("cpus", hv, o.GetBool("kvm_hyperv"));
  SIM_TRY("cpus", nested, o.GetBool("nested"));
  uint64_t b = boot.value_or(1);
  j["boot_vcpus"] = b;
  j["max_vcpus"] = max.value_or(b);
  if (auto t = o.Get("topology")) {
    std::vector<std::string> p = absl::StrSplit(*t, ':');
    uint64_t v[4];
    if (p.size() != 4 || !absl::SimpleAtoi(p[0], &v[0]) ||
        !absl::SimpleAtoi(p[1], &v[1]) || !absl::SimpleAtoi(p[2], &v[2]) ||
        !absl::SimpleAtoi(p[3], &v[3])) {
      return Ctx("cpus", absl::InvalidArgumentError(absl::StrCat(
                             "unable to convert ", *t, " for topology")));
    }
    j["topology"] = Json{{"threads_per_core", v[0]},
                         {"cores_per_die", v[1]},
                         {"dies_per_package", v[2]},
                         {"packages", v[3]}};
  }
  SetBool(j, "kvm_hyperv", hv);
  if (bits) j["max_phys_bits"] = *bits;
  if (auto a = o.Get("affinity")) {
    std::optional<Json> arr = TupleListJson(*a, "vcpu");
    if (!arr) {
      return Ctx("cpus", absl::InvalidArgumentError(absl::StrCat(
                             "unable to convert ", *a, " for affinity")));
    }
    j["affinity"] = *arr;
  }
  if (auto f = o.Get("features")) {
    std::string inner = *f;
    if (inner.size() >= 2 && inner.front() == '[')
      inner = inner.substr(1, inner.size() - 2);
    bool amx = false;
    for (absl::string_view feat :
         absl::StrSplit(inner, ',', absl::SkipEmpty())) {
      if (feat != "amx") {
        return Ctx("cpus", absl::InvalidArgumentError(absl::StrCat(
                               "unable to convert ", *f, " for features")));
      }
      amx = true;
    }
    j["features"] = Json{{"amx", amx}};
  }
  SetBool(j, "nested", nested);
  return j;
}

absl::StatusOr<Json> ParseMemory(const std::string& s) {
  KvOptions o({"size", "file", "mergeable", "shared", "hugepages",
               "hugepage_size", "hotplug_method", "hotplug_size",
               "hotplugged_size", "prefault", "thp"});
  if (absl::Status st = o.Parse(s); !st.ok()) return Ctx("memory", st);
  Json j = Json::object();
  SIM_TRY("memory", size, o.GetSize("size"));
  j["size"] = size.value_or(512ull << 20);
  for (const char* k :
       {"mergeable", "shared", "hugepages", "prefault", "thp"}) {
    SIM_TRY("memory", b, o.GetBool(k));
    SetBool(j, k, b);
  }
  for (const char* k : {"hugepage_size", "hotplug_size", "hotplugged_size"}) {
    SIM_TRY("memory", v, o.GetSize(k));
    if (v) j[k] = *v;
  }
  if (auto m = o.Get("hotplug_method")) {
    std::string l = absl::AsciiStrToLower(*m);
    if (l == "acpi") {
      j["hotplug_method"] = "Acpi";
    } else if (l == "virtio-mem") {
      j["hotplug_method"] = "VirtioMem";
    } else {
      return Ctx("memory",
                 absl::InvalidArgumentError(absl::StrCat(
                     "unable to convert ", *m, " for hotplug_method")));
    }
  }
  return j;
}

absl::StatusOr<Json> ParseDisk(const std::string& s) {
  KvOptions o({"path",
               "readonly",
               "direct",
               "iommu",
               "num_queues",
               "queue_size",
               "vhost_user",
               "socket",
               "bw_size",
               "bw_one_time_burst",
               "bw_refill_time",
               "ops_size",
               "ops_one_time_burst",
               "ops_refill_time",
               "id",
               "pci_segment",
               "serial",
               "rate_limit_group",
               "queue_affinity",
               "backing_files",
               "sparse",
               "image_type",
               "_disable_io_uring",
               "_disable_aio"});
  if (absl::Status st = o.Parse(s); !st.ok()) return Ctx("disk", st);
  Json j = Json::object();
  if (auto v = o.Get("path")) j["path"] = *v;
  for (const char* k : {"readonly", "direct", "iommu", "vhost_user",
                        "backing_files", "sparse"}) {
    SIM_TRY("disk", b, o.GetBool(k));
    SetBool(j, k, b);
  }
  SIM_TRY("disk", dio, o.GetBool("_disable_io_uring"));
  SetBool(j, "disable_io_uring", dio);
  SIM_TRY("disk", daio, o.GetBool("_disable_aio"));
  SetBool(j, "disable_aio", daio);
  for (const char* k : {"num_queues", "queue_size", "pci_segment"}) {
    SIM_TRY("disk", v, o.GetU64(k));
    if (v) j[k] = *v;
  }
  for (const char* k : {"bw_size", "bw_one_time_burst", "bw_refill_time",
                        "ops_size", "ops_one_time_burst", "ops_refill_time"}) {
    SIM_TRY("disk", v, o.GetU64(k));
    (void)v;
  }
  if (auto v = o.Get("socket")) j["vhost_socket"] = *v;
  if (auto v = o.Get("id")) j["id"] = *v;
  if (auto v = o.Get("serial")) j["serial"] = *v;
  if (auto v = o.Get("rate_limit_group")) j["rate_limit_group"] = *v;
  if (auto v = o.Get("queue_affinity")) {
    std::optional<Json> arr = TupleListJson(*v, "queue_index");
    if (!arr) {
      return Ctx("disk", absl::InvalidArgumentError(absl::StrCat(
                             "unable to convert ", *v, " for queue_affinity")));
    }
    j["queue_affinity"] = *arr;
  }
  if (auto v = o.Get("image_type")) {
    std::string l = absl::AsciiStrToLower(*v);
    static const std::map<std::string, std::string> kTypes = {
        {"raw", "Raw"},
        {"qcow2", "Qcow2"},
        {"vhd", "FixedVhd"},
        {"vhdx", "Vhdx"}};
    auto it = kTypes.find(l);
    if (it == kTypes.end()) {
      return Ctx("disk", absl::InvalidArgumentError(absl::StrCat(
                             "unable to convert ", *v, " for image_type")));
    }
    j["image_type"] = it->second;
  }
  return NormalizeDiskConfig(j);
}

absl::StatusOr<Json> ParseNet(const std::string& s) {
  KvOptions o({"tap",
               "ip",
               "mask",
               "mac",
               "host_mac",
               "mtu",
               "iommu",
               "num_queues",
               "queue_size",
               "vhost_user",
               "socket",
               "vhost_mode",
               "id",
               "fd",
               "bw_size",
               "bw_one_time_burst",
               "bw_refill_time",
               "ops_size",
               "ops_one_time_burst",
               "ops_refill_time",
               "pci_segment",
               "offload_tso",
               "offload_ufo",
               "offload_csum"});
  if (absl::Status st = o.Parse(s); !st.ok()) return Ctx("net", st);
  Json j = Json::object();
  for (const char* k : {"tap", "ip", "mask", "id"}) {
    if (auto v = o.Get(k)) j[k] = *v;
  }
  for (const char* k : {"mac", "host_mac"}) {
    if (auto v = o.Get(k)) {
      if (!IsValidMac(*v)) {
        return Ctx("net", absl::InvalidArgumentError(absl::StrCat(
                              "unable to convert ", *v, " for ", k)));
      }
      j[k] = absl::AsciiStrToLower(*v);
    }
  }
  if (auto v = o.Get("socket")) j["vhost_socket"] = *v;
  for (const char* k :
       {"iommu", "vhost_user", "offload_tso", "offload_ufo", "offload_csum"}) {
    SIM_TRY("net", b, o.GetBool(k));
    SetBool(j, k, b);
  }
  for (const char* k : {"mtu", "num_queues", "queue_size", "pci_segment"}) {
    SIM_TRY("net", v, o.GetU64(k));
    if (v) j[k] = *v;
  }
  if (auto v = o.Get("vhost_mode")) {
    std::string l = absl::AsciiStrToLower(*v);
    if (l != "client" && l != "server") {
      return Ctx("net", absl::InvalidArgumentError(absl::StrCat(
                            "unable to convert ", *v, " for vhost_mode")));
    }
    j["vhost_mode"] = l == "client" ? "Client" : "Server";
  }
  SIM_TRY("net", fds, o.GetList("fd"));
  if (fds) j["fds"] = *fds;
  return NormalizeNetConfig(j);
}

absl::StatusOr<Json> ParseConsole(const std::string& opt,
                                  const std::string& s) {
  KvOptions o({"file", "socket", "iommu"}, {"off", "pty", "tty", "null"});
  if (absl::Status st = o.Parse(s); !st.ok()) return Ctx(opt, st);
  SIM_TRY(opt, iommu, o.GetBool("iommu"));
  Json j{{"file", nullptr},
         {"mode", "Null"},
         {"iommu", iommu.value_or(false)},
         {"socket", nullptr}};
  if (o.Has("off")) {
    j["mode"] = "Off";
  } else if (o.Has("pty")) {
    j["mode"] = "Pty";
  } else if (o.Has("tty")) {
    j["mode"] = "Tty";
  } else if (o.Has("null")) {
    j["mode"] = "Null";
  } else if (o.Has("file")) {
    if (!o.Get("file")) {
      return Ctx(opt, absl::InvalidArgumentError(
                          "Path missing when using file/socket console mode"));
    }
    j["mode"] = "File";
    j["file"] = *o.Get("file");
  } else if (o.Has("socket")) {
    if (!o.Get("socket")) {
      return Ctx(opt, absl::InvalidArgumentError(
                          "Path missing when using file/socket console mode"));
    }
    j["mode"] = "Socket";
    j["socket"] = *o.Get("socket");
  } else {
    return Ctx(opt, absl::InvalidArgumentError("invalid console mode given"));
  }
  return j;
}

}  // namespace

absl::StatusOr<Json> VmConfigFromCli(const CliValues& values) {
  auto one = [&](const std::string& k) -> std::optional<std::string> {
    auto it = values.find(k);
    if (it == values.end() || it->second.empty()) return std::nullopt;
    return it->second[0];
  };
  Json j = Json::object();
  {
    absl::StatusOr<Json> c =
        ParseCpus(one("cpus").value_or("boot=1,max_phys_bits=46"));
    if (!c.ok()) return c.status();
    j["cpus"] = *c;
  }
  {
    absl::StatusOr<Json> m = ParseMemory(one("memory").value_or("size=512M"));
    if (!m.ok()) return m.status();
    j["memory"] = *m;
  }
  if (one("kernel") || one("firmware")) {
    Json p = Json::object();
    if (auto v = one("firmware")) p["firmware"] = *v;
    if (auto v = one("kernel")) p["kernel"] = *v;
    // With firmware, cmdline and initramfs are dropped (CH warns).
    if (!one("firmware")) {
      if (auto v = one("cmdline")) p["cmdline"] = *v;
      if (auto v = one("initramfs")) p["initramfs"] = *v;
    }
    j["payload"] = p;
  }
  for (const char* opt : {"disk", "net"}) {
    auto it = values.find(opt);
    if (it == values.end()) continue;
    Json arr = Json::array();
    for (const std::string& v : it->second) {
      absl::StatusOr<Json> d =
          std::string(opt) == "disk" ? ParseDisk(v) : ParseNet(v);
      if (!d.ok()) return d.status();
      arr.push_back(*d);
    }
    j[std::string(opt) == "disk" ? "disks" : "net"] = arr;
  }
  if (auto v = one("rng")) {
    KvOptions o({"src", "iommu"});
    if (absl::Status st = o.Parse(*v); !st.ok()) return Ctx("rng", st);
    SIM_TRY("rng", iommu, o.GetBool("iommu"));
    j["rng"] = Json{{"src", o.Get("src").value_or("/dev/urandom")},
                    {"iommu", iommu.value_or(false)}};
  }
  if (auto v = one("balloon")) {
    KvOptions o({"size", "deflate_on_oom", "free_page_reporting"});
    if (absl::Status st = o.Parse(*v); !st.ok()) return Ctx("balloon", st);
    SIM_TRY("balloon", size, o.GetSize("size"));
    SIM_TRY("balloon", oom, o.GetBool("deflate_on_oom"));
    SIM_TRY("balloon", fpr, o.GetBool("free_page_reporting"));
    j["balloon"] = Json{{"size", size.value_or(0)},
                        {"deflate_on_oom", oom.value_or(false)},
                        {"free_page_reporting", fpr.value_or(false)}};
  }
  {
    absl::StatusOr<Json> s =
        ParseConsole("serial", one("serial").value_or("null"));
    if (!s.ok()) return s.status();
    j["serial"] = *s;
    absl::StatusOr<Json> c =
        ParseConsole("console", one("console").value_or("tty"));
    if (!c.ok()) return c.status();
    j["console"] = *c;
  }
  if (values.count("watchdog")) j["watchdog"] = true;
  if (values.count("pvpanic")) j["pvpanic"] = true;
  if (values.count("landlock")) j["landlock_enable"] = true;
  absl::StatusOr<Json> n = NormalizeVmConfig(j);
  if (!n.ok()) return absl::InvalidArgumentError(n.status().message());
  if (absl::Status v = ValidateVmConfig(*n); !v.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Error validating configuration\n", v.message()));
  }
  return n;
}

absl::StatusOr<Json> RestoreConfigFromCli(const std::string& value) {
  KvOptions o({"source_url", "prefault", "net_fds"});
  if (absl::Status st = o.Parse(value); !st.ok()) return Ctx("restore", st);
  auto url = o.Get("source_url");
  if (!url) {
    return absl::InvalidArgumentError(
        "Error parsing --restore: source_url missing");
  }
  SIM_TRY("restore", prefault, o.GetBool("prefault"));
  return Json{{"source_url", *url},
              {"prefault", prefault.value_or(false)},
              {"net_fds", nullptr}};
}

absl::StatusOr<ApiSocketSpec> ParseApiSocket(const std::string& value) {
  KvOptions o({"path", "fd"});
  ApiSocketSpec spec;
  if (!o.Parse(value).ok()) {
    spec.path = value;  // a bare path
    return spec;
  }
  if (auto fd = o.Get("fd")) {
    if (!absl::SimpleAtoi(*fd, &spec.fd)) {
      return absl::InvalidArgumentError("Error parsing --api-socket");
    }
    return spec;
  }
  spec.path = o.Get("path").value_or("");
  return spec;
}

absl::Status ValidateVmConfig(const Json& c) {
  auto err = [](std::string m) {
    return absl::InvalidArgumentError(std::move(m));
  };
  const Json& payload = c["payload"];
  bool kernel = payload.is_object() && payload["kernel"].is_string();
  bool firmware = payload.is_object() && payload["firmware"].is_string();
  if (!kernel && !firmware) {
    return err(
        "Payload configuration is not bootable\n"
        "No bootitem provided: neither firmware nor kernel");
  }
  if (kernel && firmware) {
    return err(
        "Payload configuration is not bootable\n"
        "Specifying a kernel is not supported when a firmware is provided");
  }
  uint64_t boot = c["cpus"]["boot_vcpus"].get<uint64_t>();
  uint64_t max = c["cpus"]["max_vcpus"].get<uint64_t>();
  if (boot == 0) return err("Cannot have zero boot vCPUs");
  if (max < boot) return err("Max CPUs lower than boot CPUs");
  if (max > 8192)
    return err("Too many vCPUs: " + std::to_string(max) + " > 8192");
  uint64_t ram = c["memory"]["size"].get<uint64_t>();
  if (c["balloon"].is_object() && c["balloon"]["size"].get<uint64_t>() >= ram) {
    return err("Balloon size is larger than RAM");
  }
  std::set<std::string> ids;
  auto check_id = [&](const Json& id) -> absl::Status {
    if (!id.is_string()) return absl::OkStatus();
    std::string s = id.get<std::string>();
    if (s.rfind("__", 0) == 0)
      return err("Identifier " + s + " is not invalid");
    if (!ids.insert(s).second) return err("Identifier " + s + " is not unique");
    return absl::OkStatus();
  };
  if (c["disks"].is_array()) {
    for (const Json& d : c["disks"]) {
      if (d["num_queues"].get<uint64_t>() > boot) {
        return err(absl::StrCat("Number of block queues (",
                                d["num_queues"].dump(),
                                ") exceeds the number of vCPUs (", boot, ")"));
      }
      if (d["queue_size"].get<uint64_t>() <= 2) {
        return err(
            absl::StrCat("Invalid queue size: ", d["queue_size"].dump()));
      }
      if (d["serial"].is_string() &&
          d["serial"].get<std::string>().size() > 20) {
        return err("Disk serial number too long (more than 20 bytes)");
      }
      if (d["path"].is_string() && d["vhost_socket"].is_string()) {
        return err("Disk path and vhost socket both provided");
      }
      if (d["vhost_user"].get<bool>()) {
        return err(
            "Using vhost-user requires using shared memory or huge pages");
      }
      if (!d["path"].is_string()) return err("Disk path missing");
      if (absl::Status s = check_id(d["id"]); !s.ok()) return s;
    }
  }
  if (c["net"].is_array()) {
    for (const Json& n : c["net"]) {
      uint64_t q = n["num_queues"].get<uint64_t>();
      if (q < 2) return err("Number of queues to virtio_net less than 2");
      if (q / 2 > boot) {
        return err(absl::StrCat("Number of net queue pairs (", q / 2,
                                ") exceeds the number of vCPUs (", boot, ")"));
      }
      if (n["mtu"].is_number() && n["mtu"].get<uint64_t>() < 1280) {
        return err("Net MTU is lower than the minimum (1280)");
      }
      if (n["ip"].is_string() && !n["mask"].is_string()) {
        return err("IP provided without a mask");
      }
      if (!n["ip"].is_string() && n["mask"].is_string()) {
        return err("Mask provided without an IP");
      }
      if (!n["offload_csum"].get<bool>() &&
          (n["offload_tso"].get<bool>() || n["offload_ufo"].get<bool>())) {
        return err("TSO and UFO offloads require checksum offload");
      }
      if (n["vhost_user"].get<bool>()) {
        return err(
            "Using vhost-user requires using shared memory or huge pages");
      }
      if (absl::Status s = check_id(n["id"]); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace chtools::sim
