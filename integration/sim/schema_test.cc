// Tests of the serde emulation for request bodies.
#include "integration/sim/schema.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/testing/status_matchers.h"

namespace chtools::sim {
namespace {

using ::chtools::testing::StatusIs;

Json P(const char* s) { return Json::parse(s, nullptr, false); }

TEST(SchemaTest, EmptyVmConfigGetsCliDefaultsInStructOrder) {
  absl::StatusOr<Json> c = NormalizeVmConfig(P("{}"));
  ASSERT_OK(c);
  EXPECT_EQ(
      (*c)["cpus"].dump(),
      R"({"boot_vcpus":1,"max_vcpus":1,"topology":null,"kvm_hyperv":false,)"
      R"("max_phys_bits":46,"affinity":null,"features":{"amx":false},"nested":true})");
  EXPECT_EQ((*c)["memory"]["size"], 512ull << 20);
  EXPECT_EQ((*c)["memory"]["thp"], true);
  EXPECT_EQ((*c)["serial"].dump(),
            R"({"file":null,"mode":"Null","iommu":false,"socket":null})");
  EXPECT_EQ((*c)["console"]["mode"], "Tty");
  EXPECT_EQ((*c)["debug_console"].dump(),
            R"({"file":null,"mode":"Off","iobase":233})");
  EXPECT_EQ((*c)["rng"]["src"], "/dev/urandom");
  EXPECT_TRUE((*c)["payload"].is_null());
  EXPECT_EQ(c->begin().key(), "cpus");
}

TEST(SchemaTest, RequiredFields) {
  EXPECT_THAT(NormalizeVmConfig(P(R"({"cpus":{"boot_vcpus":1}})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "missing field `max_vcpus`"));
  EXPECT_THAT(
      NormalizeVmConfig(P(R"({"memory":{}})")),
      StatusIs(absl::StatusCode::kInvalidArgument, "missing field `size`"));
  EXPECT_THAT(
      NormalizeVmConfig(P(R"({"console":{"file":"/x"}})")),
      StatusIs(absl::StatusCode::kInvalidArgument, "missing field `mode`"));
  EXPECT_THAT(NormalizeSnapshotConfig(P("{}")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "missing field `destination_url`"));
  EXPECT_THAT(
      NormalizeRemoveDevice(P("{}")),
      StatusIs(absl::StatusCode::kInvalidArgument, "missing field `id`"));
  EXPECT_THAT(NormalizeRestoreConfig(P(R"({"prefault":true})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "missing field `source_url`"));
}

TEST(SchemaTest, TypesRangesAndEnums) {
  EXPECT_THAT(NormalizeDiskConfig(P(R"({"path":"/a","readonly":"on"})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "invalid type: string \"on\", expected a boolean"));
  EXPECT_THAT(NormalizeDiskConfig(P(R"({"queue_size":70000})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "invalid value: integer `70000`, expected u16"));
  EXPECT_THAT(
      NormalizeDiskConfig(P(R"({"image_type":"raw"})")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "unknown variant `raw`, expected one of `FixedVhd`, `Qcow2`, "
               "`Raw`, `Vhdx`, `Unknown`"));
  EXPECT_THAT(
      NormalizeVmConfig(P(R"({"cpus":{"boot_vcpus":-1,"max_vcpus":1}})")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "invalid value: integer `-1`, expected u32"));
  EXPECT_THAT(NormalizeVmConfig(P(R"({"disks":{}})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "invalid type: map, expected a sequence"));
}

TEST(SchemaTest, NetDefaultsAndMac) {
  absl::StatusOr<Json> n = NormalizeNetConfig(P(R"({"tap":"tap0"})"));
  ASSERT_OK(n);
  EXPECT_EQ((*n)["num_queues"], 2);
  EXPECT_EQ((*n)["queue_size"], 256);
  EXPECT_TRUE((*n)["ip"].is_null());
  EXPECT_TRUE((*n)["mask"].is_null());
  EXPECT_EQ((*n)["vhost_mode"], "Client");
  std::string mac = (*n)["mac"];
  EXPECT_TRUE(IsValidMac(mac));
  EXPECT_EQ(std::stoi(mac.substr(0, 2), nullptr, 16) & 3, 2) << mac;
  EXPECT_THAT(NormalizeNetConfig(P(R"({"mac":"12:34"})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "The provided MAC address is invalid: 12:34"));
  absl::StatusOr<Json> upper =
      NormalizeNetConfig(P(R"({"mac":"AA:BB:CC:DD:EE:FF"})"));
  ASSERT_OK(upper);
  EXPECT_EQ((*upper)["mac"], "aa:bb:cc:dd:ee:ff");
}

TEST(SchemaTest, UnknownFieldsAreIgnored) {
  absl::StatusOr<Json> r =
      NormalizeRestoreConfig(P(R"({"source_url":"file:///x","resume":true})"));
  ASSERT_OK(r);
  EXPECT_FALSE(r->contains("resume"));
  EXPECT_EQ((*r)["prefault"], false);
}

TEST(SchemaTest, PlatformKnowsOnlyTheCodesFieldNames) {
  absl::StatusOr<Json> c = NormalizeVmConfig(P(
      R"({"platform":{"iommu_address_width_bits":39,"iommu_address_width":40}})"));
  ASSERT_OK(c);
  EXPECT_EQ((*c)["platform"].dump(),
            R"({"num_pci_segments":1,"iommu_segments":null,)"
            R"("iommu_address_width_bits":39,"serial_number":null,"uuid":null,)"
            R"("oem_strings":null})");
}

TEST(SchemaTest, QueueAffinityNeedsBothFields) {
  EXPECT_THAT(
      NormalizeDiskConfig(P(R"({"queue_affinity":[{"queue_index":0}]})")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "missing field `host_cpus`"));
  absl::StatusOr<Json> d = NormalizeDiskConfig(
      P(R"({"queue_affinity":[{"host_cpus":[1],"queue_index":0,"x":1}]})"));
  ASSERT_OK(d);
  EXPECT_EQ((*d)["queue_affinity"].dump(),
            R"([{"queue_index":0,"host_cpus":[1]}])");
}

TEST(SchemaTest, DiskDefaults) {
  absl::StatusOr<Json> d = NormalizeDiskConfig(P(R"({"path":"/a"})"));
  ASSERT_OK(d);
  EXPECT_EQ((*d)["num_queues"], 1);
  EXPECT_EQ((*d)["queue_size"], 128);
  EXPECT_EQ((*d)["sparse"], true);
  EXPECT_EQ((*d)["image_type"], "Unknown");
  EXPECT_TRUE((*d)["id"].is_null());
}

}  // namespace
}  // namespace chtools::sim
