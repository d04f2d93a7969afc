#include "lib/record/validate.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "gtest/gtest.h"
#include "lib/record/records.pb.h"
#include "lib/record/textproto.h"
#include "lib/testing/status_matchers.h"

namespace chtools::record {
namespace {

using ::chtools::testing::StatusIs;

Vm GoodVm() {
  Vm vm;
  absl::Status s = ParseMessage(
      R"pb(
        id: "3f9c0a1b2c3d4e5f"
        state: CREATED
        config {
          name: "web-1.example_a"
          cpu: 1
          memory_bytes: 536870912
          storage_bytes: 10737418240
        }
        storage {
          path: "/r/oci/blobs/aa.erofs"
          ro: true
          serial: "cocoon-layer0"
        }
        storage { path: "/r/run/cloudhypervisor/3f9c0a1b2c3d4e5f/cow.raw" }
        network {
          tap: "tap0"
          mac: "02:42:0a:58:00:05"
          num_queues: 2
          queue_size: 256
          netns_path: "/var/run/netns/cocoon-3f9c0a1b2c3d4e5f"
          ipv4 { ip: "10.88.0.5" gateway: "10.88.0.1" prefix: 16 }
        }
        boot {
          kernel_path: "/r/vmlinuz"
          initrd_path: "/r/initrd.img"
          cmdline: "console=hvc0"
        }
        image_blob_ids: "aabb"
        run_dir: "/r/run/cloudhypervisor/3f9c0a1b2c3d4e5f"
        log_dir: "/r/log/cloudhypervisor/3f9c0a1b2c3d4e5f"
        snapshot_ids: "00112233445566ff"
        created_at: "2026-11-27T19:13:04.123456789Z"
        updated_at: "2026-11-27T19:13:04Z"
      )pb",
      "<test>", &vm);
  EXPECT_TRUE(s.ok()) << s;
  return vm;
}

// One broken field per case: the error names its path and says what is wrong.
struct BadCase {
  const char* name;
  void (*mutate)(Vm&);
  const char* message;
};

TEST(ValidateVmTest, AcceptsGoodVm) {
  EXPECT_OK(ValidateVm(GoodVm(), "vm[0]"));
}

TEST(ValidateVmTest, NameBoundaries) {
  Vm vm = GoodVm();
  vm.mutable_config()->set_name(std::string(63, 'a'));
  EXPECT_OK(ValidateVm(vm, "vm[0]"));
  vm.mutable_config()->set_name("7");
  EXPECT_OK(ValidateVm(vm, "vm[0]"));
  vm.mutable_config()->set_name(std::string(64, 'a'));
  EXPECT_THAT(ValidateVm(vm, "vm[0]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::StartsWith("vm[0].config.name: \"aaaa")));
}

TEST(ValidateVmTest, RejectsEachBadField) {
  const BadCase cases[] = {
      {"empty id", [](Vm& v) { v.clear_id(); },
       "vm[2].id: missing: expected 16 lowercase hex characters"},
      {"upper id", [](Vm& v) { v.set_id("3F9C0A1B2C3D4E5F"); },
       "vm[2].id: \"3F9C0A1B2C3D4E5F\" is invalid: expected 16 lowercase hex "
       "characters"},
      {"no state", [](Vm& v) { v.clear_state(); },
       "vm[2].state: missing: expected CREATING, CREATED, RUNNING, STOPPED or "
       "ERROR"},
      {"no config", [](Vm& v) { v.clear_config(); },
       "vm[2].config: missing: a VM needs a name, cpu, memory and storage"},
      {"bad name", [](Vm& v) { v.mutable_config()->set_name("-web"); },
       "vm[2].config.name: \"-web\" is invalid: must match "
       "^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$ (1-63 characters)"},
      {"empty name", [](Vm& v) { v.mutable_config()->clear_name(); },
       "vm[2].config.name: missing: a VM needs a name matching "
       "^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$"},
      {"cpu", [](Vm& v) { v.mutable_config()->set_cpu(0); },
       "vm[2].config.cpu: 0 is too small: at least 1 vCPU"},
      {"memory", [](Vm& v) { v.mutable_config()->set_memory_bytes(536870911); },
       "vm[2].config.memory_bytes: 536870911 is too small: at least 536870912 "
       "(512 MiB)"},
      {"storage",
       [](Vm& v) { v.mutable_config()->set_storage_bytes(10737418239); },
       "vm[2].config.storage_bytes: 10737418239 is too small: at least "
       "10737418240 (10 GiB)"},
      {"relative disk",
       [](Vm& v) { v.mutable_storage(1)->set_path("cow.raw"); },
       "vm[2].storage[1].path: \"cow.raw\" is not an absolute path"},
      {"comma disk", [](Vm& v) { v.mutable_storage(1)->set_path("/a,b"); },
       "vm[2].storage[1].path: \"/a,b\" contains ',', a newline or NUL, which "
       "Cloud Hypervisor's option syntax cannot carry"},
      {"ro without serial", [](Vm& v) { v.mutable_storage(0)->clear_serial(); },
       "vm[2].storage[0].serial: missing: a read-only disk of a direct-boot "
       "VM needs a serial (the guest finds its layers by serial, e.g. "
       "\"cocoon-layer0\")"},
      {"mac", [](Vm& v) { v.mutable_network(0)->set_mac("02:42:0a:58:00"); },
       "vm[2].network[0].mac: \"02:42:0a:58:00\" is invalid: expected six hex "
       "pairs like 02:42:0a:58:00:05"},
      {"tap",
       [](Vm& v) { v.mutable_network(0)->set_tap("a-very-long-tap-name"); },
       "vm[2].network[0].tap: \"a-very-long-tap-name\" is invalid: expected an "
       "interface name of 1-15 letters, digits, '.', '_' or '-'"},
      {"odd queues", [](Vm& v) { v.mutable_network(0)->set_num_queues(3); },
       "vm[2].network[0].num_queues: 3 is invalid: expected 0 (default) or a "
       "positive even number"},
      {"queue size", [](Vm& v) { v.mutable_network(0)->set_queue_size(300); },
       "vm[2].network[0].queue_size: 300 is invalid: expected 0 (default) or a "
       "power of two up to 32768"},
      {"ip",
       [](Vm& v) {
         v.mutable_network(0)->mutable_ipv4()->set_ip("10.88.0.256");
       },
       "vm[2].network[0].ipv4.ip: \"10.88.0.256\" is not an IPv4 address "
       "(expected a dotted quad like 10.0.0.2)"},
      {"gateway",
       [](Vm& v) { v.mutable_network(0)->mutable_ipv4()->set_gateway("gw"); },
       "vm[2].network[0].ipv4.gateway: \"gw\" is not an IPv4 address (expected "
       "a dotted quad like 10.0.0.2)"},
      {"prefix 0",
       [](Vm& v) { v.mutable_network(0)->mutable_ipv4()->set_prefix(0); },
       "vm[2].network[0].ipv4.prefix: 0 is out of range: expected 1..32"},
      {"prefix 33",
       [](Vm& v) { v.mutable_network(0)->mutable_ipv4()->set_prefix(33); },
       "vm[2].network[0].ipv4.prefix: 33 is out of range: expected 1..32"},
      {"netns", [](Vm& v) { v.mutable_network(0)->set_netns_path("netns/x"); },
       "vm[2].network[0].netns_path: \"netns/x\" is not an absolute path"},
      {"kernel", [](Vm& v) { v.mutable_boot()->set_kernel_path("vmlinuz"); },
       "vm[2].boot.kernel_path: \"vmlinuz\" is not an absolute path"},
      {"initrd alone", [](Vm& v) { v.mutable_boot()->clear_kernel_path(); },
       "vm[2].boot.initrd_path: set without kernel_path: an initramfs needs "
       "direct boot"},
      {"run dir", [](Vm& v) { v.set_run_dir("run"); },
       "vm[2].run_dir: \"run\" is not an absolute path"},
      {"log dir", [](Vm& v) { v.set_log_dir("./log"); },
       "vm[2].log_dir: \"./log\" is not an absolute path"},
      {"blob", [](Vm& v) { v.set_image_blob_ids(0, "XYZ"); },
       "vm[2].image_blob_ids[0]: \"XYZ\" is invalid: expected lowercase hex "
       "characters"},
      {"snapshot id", [](Vm& v) { v.set_snapshot_ids(0, "snap"); },
       "vm[2].snapshot_ids[0]: \"snap\" is invalid: expected 16 lowercase hex "
       "characters"},
      {"time", [](Vm& v) { v.set_created_at("2026-11-27 19:13"); },
       "vm[2].created_at: \"2026-11-27 19:13\" is not an RFC 3339 time (like "
       "2026-11-27T19:13:04Z)"},
      {"pid", [](Vm& v) { v.set_pid(-4); },
       "vm[2].pid: -4 is invalid: expected a process id"},
      {"multicast mac",
       [](Vm& v) { v.mutable_network(0)->set_mac("01:00:5e:00:00:fb"); },
       "vm[2].network[0].mac: \"01:00:5e:00:00:fb\" is a multicast address "
       "(low bit of the first octet set): a NIC needs a unicast MAC like "
       "02:42:0a:58:00:05"},
      {"broadcast mac",
       [](Vm& v) { v.mutable_network(0)->set_mac("FF:ff:ff:ff:ff:ff"); },
       "vm[2].network[0].mac: \"FF:ff:ff:ff:ff:ff\" is the broadcast address: "
       "a NIC needs a unicast MAC like 02:42:0a:58:00:05"},
      {"zero mac",
       [](Vm& v) { v.mutable_network(0)->set_mac("00:00:00:00:00:00"); },
       "vm[2].network[0].mac: \"00:00:00:00:00:00\" is all zeros: a NIC needs "
       "a unicast MAC like 02:42:0a:58:00:05"},
      {"ip 0.0.0.0",
       [](Vm& v) { v.mutable_network(0)->mutable_ipv4()->set_ip("0.0.0.0"); },
       "vm[2].network[0].ipv4.ip: \"0.0.0.0\" is the unspecified address "
       "0.0.0.0"},
      {"ip broadcast",
       [](Vm& v) {
         v.mutable_network(0)->mutable_ipv4()->set_ip("255.255.255.255");
       },
       "vm[2].network[0].ipv4.ip: \"255.255.255.255\" is the broadcast "
       "address 255.255.255.255"},
      {"ip network address",
       [](Vm& v) { v.mutable_network(0)->mutable_ipv4()->set_ip("10.88.0.0"); },
       "vm[2].network[0].ipv4.ip: \"10.88.0.0\" is the network address of its "
       "/16 subnet, not a host address"},
      {"ip subnet broadcast",
       [](Vm& v) {
         v.mutable_network(0)->mutable_ipv4()->set_ip("10.88.255.255");
       },
       "vm[2].network[0].ipv4.ip: \"10.88.255.255\" is the broadcast address "
       "of its /16 subnet, not a host address"},
      {"ip loopback",
       [](Vm& v) { v.mutable_network(0)->mutable_ipv4()->set_ip("127.0.0.2"); },
       "vm[2].network[0].ipv4.ip: \"127.0.0.2\" is a loopback address "
       "(127.0.0.0/8)"},
      {"gateway outside",
       [](Vm& v) {
         v.mutable_network(0)->mutable_ipv4()->set_gateway("10.89.0.1");
       },
       "vm[2].network[0].ipv4.gateway: \"10.89.0.1\" is outside the subnet "
       "10.88.0.5/16: the guest could not reach it"},
      {"gateway is ip",
       [](Vm& v) {
         v.mutable_network(0)->mutable_ipv4()->set_gateway("10.88.0.5");
       },
       "vm[2].network[0].ipv4.gateway: \"10.88.0.5\" is the NIC's own "
       "address: a gateway is another host of the subnet"},
      {"gateway subnet broadcast",
       [](Vm& v) {
         v.mutable_network(0)->mutable_ipv4()->set_gateway("10.88.255.255");
       },
       "vm[2].network[0].ipv4.gateway: \"10.88.255.255\" is the broadcast "
       "address of its /16 subnet, not a host address"},
      {"cpu too many", [](Vm& v) { v.mutable_config()->set_cpu(255); },
       "vm[2].config.cpu: 255 is too large: at most 254 vCPUs (Cloud "
       "Hypervisor's limit on x86_64)"},
      {"memory too large",
       [](Vm& v) {
         v.mutable_config()->set_memory_bytes((int64_t{16} << 40) + 4096);
       },
       "vm[2].config.memory_bytes: 17592186048512 is too large: at most "
       "17592186044416 (16 TiB)"},
      // What `ch-launch create --memory 8191P` asks for: it fits in an int64.
      {"memory 8191P",
       [](Vm& v) { v.mutable_config()->set_memory_bytes(int64_t{8191} << 50); },
       "vm[2].config.memory_bytes: 9222246136947933184 is too large: at most "
       "17592186044416 (16 TiB)"},
      {"memory max int64",
       [](Vm& v) {
         v.mutable_config()->set_memory_bytes(
             std::numeric_limits<int64_t>::max());
       },
       "vm[2].config.memory_bytes: 9223372036854775807 is too large: at most "
       "17592186044416 (16 TiB)"},
      {"memory not in pages",
       [](Vm& v) { v.mutable_config()->set_memory_bytes(536870912 + 512); },
       "vm[2].config.memory_bytes: 536871424 is not a multiple of 4096: guest "
       "memory is mapped in whole 4 KiB pages"},
      {"storage too large",
       [](Vm& v) {
         v.mutable_config()->set_storage_bytes((int64_t{64} << 40) + 1);
       },
       "vm[2].config.storage_bytes: 70368744177665 is too large: at most "
       "70368744177664 (64 TiB)"},
      {"windows direct boot",
       [](Vm& v) { v.mutable_config()->set_windows(true); },
       "vm[2].config.windows: a Windows guest boots from UEFI firmware, not "
       "from a direct kernel (boot.kernel_path is set)"},
      {"invalid utf-8",
       [](Vm& v) { v.mutable_config()->set_image("ima\xc3ge"); },
       "vm[2].config.image: is not valid UTF-8 (byte 3): text fields must be "
       "UTF-8"},
      {"long image",
       [](Vm& v) { v.mutable_config()->set_image(std::string(1025, 'x')); },
       "vm[2].config.image: 1025 bytes is too long: at most 1024 bytes"},
      {"huge image",
       [](Vm& v) {
         v.mutable_config()->set_image(std::string(100 << 20, 'x'));
       },
       "vm[2].config.image: 104857600 bytes is too long: at most 1024 bytes"},
      {"long path",
       [](Vm& v) {
         v.mutable_storage(1)->set_path("/" + std::string(4096, 'x'));
       },
       "vm[2].storage[1].path: 4097 bytes is too long: at most 4096 bytes"},
      {"long cmdline",
       [](Vm& v) { v.mutable_boot()->set_cmdline(std::string(4097, 'x')); },
       "vm[2].boot.cmdline: 4097 bytes is too long: at most 4096 bytes"},
      {"17 nics",
       [](Vm& v) {
         for (int i = 0; i < 16; ++i) *v.add_network() = v.network(0);
       },
       "vm[2].network: 17 entries are too many: at most 16"},
      {"33 disks",
       [](Vm& v) {
         for (int i = 0; i < 31; ++i) *v.add_storage() = v.storage(0);
       },
       "vm[2].storage: 33 entries are too many: at most 32"},
      {"1025 blobs",
       [](Vm& v) {
         for (int i = 0; i < 1024; ++i) v.add_image_blob_ids("ab");
       },
       "vm[2].image_blob_ids: 1025 entries are too many: at most 1024"},
      {"escaped in messages", [](Vm& v) { v.set_run_dir("run\x1b[2J\n\"x"); },
       "vm[2].run_dir: \"run\\x1b[2J\\n\\\"x\" is not an absolute path"},
  };
  for (const BadCase& c : cases) {
    Vm vm = GoodVm();
    c.mutate(vm);
    EXPECT_THAT(ValidateVm(vm, "vm[2]"),
                StatusIs(absl::StatusCode::kInvalidArgument, c.message))
        << c.name;
  }
}

TEST(ValidateVmTest, AcceptsTheBounds) {
  Vm vm = GoodVm();
  vm.mutable_config()->set_cpu(254);
  vm.mutable_config()->set_memory_bytes(int64_t{16} << 40);
  vm.mutable_config()->set_storage_bytes(int64_t{64} << 40);
  vm.mutable_config()->set_image(std::string(1024, 'x'));
  vm.mutable_storage(1)->set_path("/" + std::string(4095, 'x'));
  vm.mutable_boot()->set_cmdline(std::string(4096, 'x'));
  vm.mutable_config()->set_name("caf\xc3\xa9");  // checked by its pattern
  EXPECT_THAT(ValidateVm(vm, "vm[0]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::StartsWith("vm[0].config.name: \"caf")));
  vm.mutable_config()->set_name("web");
  vm.mutable_config()->set_image("caf\xc3\xa9 \xf0\x9f\x98\x80");
  for (int i = 0; i < 15; ++i) *vm.add_network() = vm.network(0);
  for (int i = 0; i < 30; ++i) *vm.add_storage() = vm.storage(0);
  EXPECT_OK(ValidateVm(vm, "vm[0]"));
  // No network or broadcast address in a /31 or /32.
  Ipv4Config* v4 = vm.mutable_network(0)->mutable_ipv4();
  v4->set_prefix(31);
  v4->set_ip("10.0.0.0");
  v4->set_gateway("10.0.0.1");
  EXPECT_OK(ValidateVm(vm, "vm[0]"));
  v4->set_prefix(32);
  v4->set_ip("10.0.0.255");
  v4->clear_gateway();
  EXPECT_OK(ValidateVm(vm, "vm[0]"));
  // A /32 has no other host: any gateway lies outside it (this once shifted
  // by 32, undefined behaviour, before the comparison).
  v4->set_gateway("10.0.0.1");
  EXPECT_THAT(ValidateVm(vm, "vm[0]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr(
                           "gateway: \"10.0.0.1\" is outside the subnet "
                           "10.0.0.255/32")));
  v4->clear_gateway();
  // A locally administered unicast MAC (what NewMac makes).
  vm.mutable_network(0)->set_mac("fe:00:00:00:00:01");
  EXPECT_OK(ValidateVm(vm, "vm[0]"));
  // Windows with firmware boot.
  vm.mutable_boot()->Clear();
  vm.mutable_boot()->set_firmware_path("/r/firmware/CLOUDHV.fd");
  vm.mutable_config()->set_windows(true);
  EXPECT_OK(ValidateVm(vm, "vm[0]"));
}

// Every string field the records can hold, found through the descriptors,
// so that a field added later is covered without touching this test.
void ForEachStringField(
    const google::protobuf::Descriptor& d, const std::string& path,
    const std::function<
        void(const std::string&,
             const std::vector<const google::protobuf::FieldDescriptor*>&)>& fn,
    std::vector<const google::protobuf::FieldDescriptor*>& trail) {
  for (int i = 0; i < d.field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d.field(i);
    std::string p = path + "." + f->name() + (f->is_repeated() ? "[0]" : "");
    trail.push_back(f);
    if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_STRING) {
      fn(p, trail);
    } else if (f->cpp_type() ==
               google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      ForEachStringField(*f->message_type(), p, fn, trail);
    }
    trail.pop_back();
  }
}

// Sets the string at the end of `trail` (element 0 of repeated fields, added
// if missing).
void SetAlong(
    google::protobuf::Message* m,
    const std::vector<const google::protobuf::FieldDescriptor*>& trail,
    const std::string& value) {
  for (size_t k = 0; k < trail.size(); ++k) {
    const google::protobuf::FieldDescriptor* f = trail[k];
    const google::protobuf::Reflection* r = m->GetReflection();
    bool last = k + 1 == trail.size();
    if (f->is_repeated()) {
      if (r->FieldSize(*m, f) == 0) {
        if (last) {
          r->AddString(m, f, value);
        } else {
          r->AddMessage(m, f);
        }
      }
      if (last) {
        r->SetRepeatedString(m, f, 0, value);
      } else {
        m = r->MutableRepeatedMessage(m, f, 0);
      }
    } else if (last) {
      r->SetString(m, f, value);
    } else {
      m = r->MutableMessage(m, f);
    }
  }
}

TEST(ValidateFieldBoundsTest, EveryStringFieldMustBeUtf8AndBounded) {
  int seen = 0;
  std::vector<const google::protobuf::FieldDescriptor*> trail;
  auto check =
      [&](const std::string& path,
          const std::vector<const google::protobuf::FieldDescriptor*>& t,
          auto validate, google::protobuf::Message& good) {
        ++seen;
        std::unique_ptr<google::protobuf::Message> bad(good.New());
        bad->CopyFrom(good);
        SetAlong(bad.get(), t, "ok\xe2\x82");
        EXPECT_THAT(validate(*bad),
                    StatusIs(absl::StatusCode::kInvalidArgument,
                             path + ": is not valid UTF-8 (byte 2): "
                                    "text fields must be UTF-8"));
        bad->CopyFrom(good);
        SetAlong(bad.get(), t, std::string(kMaxPathBytes + 1, '/'));
        EXPECT_THAT(
            validate(*bad),
            StatusIs(absl::StatusCode::kInvalidArgument,
                     ::testing::StartsWith(path + ": 4097 bytes is too long: "
                                                  "at most ")));
      };
  Vm vm = GoodVm();
  ForEachStringField(
      *Vm::descriptor(), "vm[1]",
      [&](const std::string& path, const auto& t) {
        check(
            path, t,
            [](const google::protobuf::Message& m) {
              return ValidateVm(static_cast<const Vm&>(m), "vm[1]");
            },
            vm);
      },
      trail);
  Snapshot snap;
  snap.set_id("00112233445566ff");
  ForEachStringField(
      *Snapshot::descriptor(), "snapshot[0]",
      [&](const std::string& path, const auto& t) {
        check(
            path, t,
            [](const google::protobuf::Message& m) {
              return ValidateSnapshot(static_cast<const Snapshot&>(m),
                                      "snapshot[0]");
            },
            snap);
      },
      trail);
  EXPECT_GE(seen, 39);  // 39 string fields in Vm and Snapshot today
}

TEST(ValidateFieldBoundsTest, PathsGetPathMaxOthersLess) {
  Vm vm = GoodVm();
  vm.set_log_dir("/" + std::string(4095, 'l'));
  vm.mutable_network(0)->set_netns_path("/" + std::string(4095, 'n'));
  vm.set_api_socket("/" + std::string(4095, 's'));
  EXPECT_OK(ValidateFieldBounds(vm, "vm[0]"));
  vm.mutable_network(0)->set_tap(std::string(1025, 't'));
  EXPECT_THAT(ValidateFieldBounds(vm, "vm[0]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "vm[0].network[0].tap: 1025 bytes is too long: at most "
                       "1024 bytes"));
}

TEST(ValidateVmTest, FirmwareBootCidataNeedsNoSerial) {
  Vm vm = GoodVm();
  vm.mutable_boot()->Clear();
  vm.mutable_boot()->set_firmware_path("/r/firmware/CLOUDHV.fd");
  vm.mutable_storage(0)->set_path("/r/run/cloudhypervisor/x/cidata.img");
  vm.mutable_storage(0)->clear_serial();
  EXPECT_OK(ValidateVm(vm, "vm[0]"));
  vm.mutable_boot()->set_kernel_path("/r/vmlinuz");
  EXPECT_THAT(ValidateVm(vm, "vm[0]"),
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                ::testing::HasSubstr("storage[0].serial")));
}

TEST(ValidateVmTest, EmptyPathHasNoLeadingDot) {
  Vm vm = GoodVm();
  vm.mutable_config()->set_cpu(0);
  EXPECT_THAT(ValidateVm(vm, ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "config.cpu: 0 is too small: at least 1 vCPU"));
}

TEST(ValidateSnapshotTest, AcceptsAndRejects) {
  Snapshot s;
  s.set_id("00112233445566ff");
  s.set_name("nightly");
  s.set_source_vm_id("3f9c0a1b2c3d4e5f");
  SnapshotFile* f = s.add_files();
  f->set_name("memory-ranges");
  f->set_size_bytes(1 << 20);
  f->set_sha256(std::string(64, 'a'));
  s.set_created_at("2026-11-27T19:13:04Z");
  s.set_data_dir("/r/snapshots/00112233445566ff");
  EXPECT_OK(ValidateSnapshot(s, "snapshot[0]"));

  Snapshot bad = s;
  bad.mutable_files(0)->set_name("../state.json");
  EXPECT_THAT(ValidateSnapshot(bad, "snapshot[0]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "snapshot[0].files[0].name: \"../state.json\" is "
                       "invalid: expected a plain file name without '/'"));
  bad = s;
  bad.mutable_files(0)->set_sha256("abc");
  EXPECT_THAT(ValidateSnapshot(bad, "snapshot[0]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "snapshot[0].files[0].sha256: \"abc\" is invalid: "
                       "expected 64 lowercase hex characters"));
  bad = s;
  bad.set_name("a b");
  EXPECT_THAT(ValidateSnapshot(bad, "snapshot[0]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::StartsWith("snapshot[0].name: \"a b\"")));
  bad = s;
  bad.set_cpu(255);
  EXPECT_THAT(ValidateSnapshot(bad, "snapshot[0]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::StartsWith("snapshot[0].cpu: 255 is too "
                                             "large: at most 254 vCPUs")));
  bad = s;
  bad.set_memory_bytes(int64_t{8191} << 50);
  EXPECT_THAT(ValidateSnapshot(bad, "snapshot[0]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::StartsWith("snapshot[0].memory_bytes: ")));
  bad = s;
  bad.set_description("bad \xff");
  EXPECT_THAT(ValidateSnapshot(bad, "snapshot[0]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "snapshot[0].description: is not valid UTF-8 (byte 4): "
                       "text fields must be UTF-8"));
  bad = s;
  bad.set_data_dir("snap");
  EXPECT_THAT(
      ValidateSnapshot(bad, "snapshot[0]"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "snapshot[0].data_dir: \"snap\" is not an absolute path"));
}

TEST(ValidateRecordsTest, NamesIndexAndDuplicates) {
  Records r;
  *r.add_vm() = GoodVm();
  Vm second = GoodVm();
  second.set_id("aaaaaaaaaaaaaaaa");
  second.mutable_config()->set_name("db");
  *r.add_vm() = second;
  EXPECT_OK(ValidateRecords(r));

  Records bad = r;
  bad.mutable_vm(1)->mutable_config()->set_memory_bytes(1);
  EXPECT_THAT(ValidateRecords(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::StartsWith("vm[1].config.memory_bytes: 1 ")));

  bad = r;
  bad.mutable_vm(1)->mutable_config()->set_name("web-1.example_a");
  EXPECT_THAT(
      ValidateRecords(bad),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "vm[1].config.name: \"web-1.example_a\" is also the name "
               "of vm[0]: names must be unique"));
  bad = r;
  bad.mutable_vm(1)->set_id("3f9c0a1b2c3d4e5f");
  EXPECT_THAT(ValidateRecords(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "vm[1].id: \"3f9c0a1b2c3d4e5f\" is also the id of "
                       "vm[0]: ids must be unique"));
  bad = r;
  bad.add_snapshot()->set_id("x");
  EXPECT_THAT(ValidateRecords(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::StartsWith("snapshot[0].id: \"x\"")));
}

}  // namespace
}  // namespace chtools::record
