// Vmm state machine and API handlers; see vmm.h. Snapshot/restore live in
// snapshot.cc.
#include "integration/sim/vmm.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "integration/sim/schema.h"
#include "integration/sim/sigwinch.h"
#include "integration/sim/state.h"
#include "integration/sim/vm_config.h"

namespace chtools::sim {
namespace {

absl::Status Err(absl::string_view chain) { return absl::InternalError(chain); }

absl::Status Chain(absl::string_view head, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(head, "\n", s.message()));
}

HttpResponse JsonResponse(int status, const Json& body) {
  return HttpResponse{status, body.dump()};
}

HttpResponse ErrorResponse(int status, const std::vector<std::string>& chain) {
  Json arr = Json::array();
  for (const std::string& s : chain) arr.push_back(s);
  return JsonResponse(status, arr);
}

HttpResponse ApiError(const absl::Status& s) {
  std::vector<std::string> chain = {"Error from API"};
  for (absl::string_view l : absl::StrSplit(s.message(), '\n'))
    chain.emplace_back(l);
  return ErrorResponse(500, chain);
}

HttpResponse NoContent() { return HttpResponse{204, ""}; }

HttpResponse FromStatus(const absl::Status& s) {
  return s.ok() ? NoContent() : ApiError(s);
}

int64_t EnvMs(const char* name, int64_t def) {
  const char* v = getenv(name);
  int64_t n;
  if (v == nullptr || !absl::SimpleAtoi(v, &n) || n < 0) return def;
  return n;
}

bool EnvFlag(const char* name) {
  const char* v = getenv(name);
  return v != nullptr && std::string(v) == "1";
}

enum class Body { kNone, kRequired };
struct Endpoint {
  const char* method;
  Body body;
};

const std::map<std::string, Endpoint>& Endpoints() {
  static const auto* m = new std::map<std::string, Endpoint>{
      {"vmm.ping", {"GET", Body::kNone}},
      {"vmm.shutdown", {"PUT", Body::kNone}},
      {"vm.create", {"PUT", Body::kRequired}},
      {"vm.boot", {"PUT", Body::kNone}},
      {"vm.shutdown", {"PUT", Body::kNone}},
      {"vm.reboot", {"PUT", Body::kNone}},
      {"vm.power-button", {"PUT", Body::kNone}},
      {"vm.pause", {"PUT", Body::kNone}},
      {"vm.resume", {"PUT", Body::kNone}},
      {"vm.snapshot", {"PUT", Body::kRequired}},
      {"vm.restore", {"PUT", Body::kRequired}},
      {"vm.info", {"GET", Body::kNone}},
      {"vm.counters", {"GET", Body::kNone}},
      {"vm.add-disk", {"PUT", Body::kRequired}},
      {"vm.add-net", {"PUT", Body::kRequired}},
      {"vm.remove-device", {"PUT", Body::kRequired}},
      {"vm.resize", {"PUT", Body::kRequired}},
      {"vm.delete", {"PUT", Body::kNone}},
      {"vm.nmi", {"PUT", Body::kNone}},
      // Routed by v51 but not modelled: answered with a 500 chain.
      {"vm.add-device", {"PUT", Body::kRequired}},
      {"vm.add-user-device", {"PUT", Body::kRequired}},
      {"vm.add-fs", {"PUT", Body::kRequired}},
      {"vm.add-pmem", {"PUT", Body::kRequired}},
      {"vm.add-vdpa", {"PUT", Body::kRequired}},
      {"vm.add-vsock", {"PUT", Body::kRequired}},
      {"vm.resize-disk", {"PUT", Body::kRequired}},
      {"vm.resize-zone", {"PUT", Body::kRequired}},
      {"vm.send-migration", {"PUT", Body::kRequired}},
      {"vm.receive-migration", {"PUT", Body::kRequired}},
  };
  return *m;
}

}  // namespace

Knobs Knobs::FromEnv() {
  Knobs k;
  k.ignore_power_button = EnvFlag("CHSIM_IGNORE_POWER_BUTTON");
  k.power_button_delay =
      absl::Milliseconds(EnvMs("CHSIM_POWER_BUTTON_DELAY_MS", 200));
  k.crash_in_snapshot = EnvFlag("CHSIM_CRASH_IN_SNAPSHOT");
  k.fail_restore = EnvFlag("CHSIM_FAIL_RESTORE");
  k.fail_resume = EnvFlag("CHSIM_FAIL_RESUME");
  k.snapshot_delay = absl::Milliseconds(EnvMs("CHSIM_SNAPSHOT_DELAY_MS", 0));
  k.restore_delay = absl::Milliseconds(EnvMs("CHSIM_RESTORE_DELAY_MS", 0));
  k.dense_memory_ranges = !EnvFlag("CHSIM_SPARSE_MEMORY_RANGES");
  return k;
}

Vmm::~Vmm() { TearDownVm(); }

HttpResponse Vmm::Handle(const HttpRequest& req) {
  if (!absl::StartsWith(req.path, "/api/v1/"))
    return ErrorResponse(404, {"Not Found"});
  std::string name = req.path.substr(8);
  auto it = Endpoints().find(name);
  if (it == Endpoints().end()) return ErrorResponse(404, {"Not Found"});
  const Endpoint& ep = it->second;
  if (req.method == "PATCH") return HttpResponse{400, ""};
  if (req.method != ep.method) return ErrorResponse(400, {"Bad Request"});
  if (ep.body == Body::kNone && req.has_body)
    return ErrorResponse(400, {"Bad Request"});
  if (ep.body == Body::kRequired && !req.has_body) {
    if (name == "vm.create") return HttpResponse{400, ""};
    return ErrorResponse(400, {"Bad Request"});
  }
  Json body;
  if (ep.body == Body::kRequired) {
    body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) {
      return ErrorResponse(400,
                           {"Failed to deserialize JSON",
                            "syntax error while parsing the request body"});
    }
    absl::StatusOr<Json> n = body;
    if (name == "vm.create") n = NormalizeVmConfig(body);
    if (name == "vm.snapshot") n = NormalizeSnapshotConfig(body);
    if (name == "vm.restore") n = NormalizeRestoreConfig(body);
    if (name == "vm.add-disk") n = NormalizeDiskConfig(body);
    if (name == "vm.add-net") n = NormalizeNetConfig(body);
    if (name == "vm.remove-device") n = NormalizeRemoveDevice(body);
    if (name == "vm.resize") n = NormalizeResize(body);
    if (!n.ok()) {
      return ErrorResponse(400, {"Failed to deserialize JSON",
                                 std::string(n.status().message())});
    }
    body = *std::move(n);
  }
  if (name == "vmm.ping") {
    return JsonResponse(200,
                        Json{{"build_version", "v51.0"},
                             {"version", "51.0.0"},
                             {"pid", static_cast<int64_t>(getpid())},
                             {"features", Json::array({"io_uring", "kvm"})}});
  }
  if (name == "vmm.shutdown") {
    Exit(0);
    return HttpResponse{200, ""};
  }
  if (name == "vm.create") return FromStatus(Create(body));
  if (name == "vm.boot") return FromStatus(Boot());
  if (name == "vm.shutdown") return FromStatus(Shutdown());
  if (name == "vm.reboot") return FromStatus(Reboot());
  if (name == "vm.power-button") return FromStatus(PowerButton());
  if (name == "vm.pause") return FromStatus(Pause());
  if (name == "vm.resume") return FromStatus(Resume());
  if (name == "vm.snapshot") return FromStatus(Snapshot(body));
  if (name == "vm.restore") return FromStatus(Restore(body));
  if (name == "vm.delete") {
    Delete();
    return NoContent();
  }
  if (name == "vm.nmi") {
    if (!vm_) return ApiError(Err("Error triggering NMI\nVM is not running"));
    return NoContent();
  }
  if (name == "vm.info") {
    absl::StatusOr<Json> info = Info();
    return info.ok() ? JsonResponse(200, *info) : ApiError(info.status());
  }
  if (name == "vm.counters") {
    absl::StatusOr<Json> c = Counters();
    return c.ok() ? JsonResponse(200, *c) : ApiError(c.status());
  }
  if (name == "vm.add-disk" || name == "vm.add-net") {
    absl::StatusOr<std::optional<Json>> r =
        name == "vm.add-disk" ? AddDisk(body) : AddNet(body);
    if (!r.ok()) return ApiError(r.status());
    return *r ? JsonResponse(200, **r) : NoContent();
  }
  if (name == "vm.remove-device") return FromStatus(RemoveDevice(body));
  if (name == "vm.resize") return FromStatus(Resize(body));
  return ApiError(
      Err(absl::StrCat(name, " is not supported by the simulator")));
}

absl::Status Vmm::Create(const Json& config) {
  if (config_) return Err("The VM could not be created\nVM is already created");
  config_ = config;
  // CH drops net fds given over the API (they must come via SCM_RIGHTS).
  if ((*config_)["net"].is_array()) {
    for (Json& n : (*config_)["net"]) n["fds"] = nullptr;
  }
  if (absl::Status s = CreateConsoles(); !s.ok()) {
    return Chain("The VM could not be created", s);
  }
  return absl::OkStatus();
}

absl::Status Vmm::CreateConsoles() {
  serial_.reset();
  console_.reset();
  consoles_ready_ = false;
  auto serial = ConsoleDevice::Create(loop_, (*config_)["serial"], true);
  if (!serial.ok()) return serial.status();
  serial_ = *std::move(serial);
  if (serial_->mode() == "Pty") (*config_)["serial"]["file"] = serial_->path();
  auto console = ConsoleDevice::Create(loop_, (*config_)["console"], false);
  if (!console.ok()) return console.status();
  console_ = *std::move(console);
  if (console_->mode() == "Pty") {
    (*config_)["console"]["file"] = console_->path();
    StartSigwinchHelper();
  }
  consoles_ready_ = true;
  retired_ptys_.clear();
  return absl::OkStatus();
}

absl::Status Vmm::Boot() {
  if (!config_) return Err("The VM could not boot\nVM config is missing");
  if (vm_ && vm_->state == VmState::kPaused) {
    if (consoles_dropped_) {
      // The new outputs are not connected to the running guest.
      if (absl::Status s = CreateConsoles(); !s.ok()) {
        return Chain("The VM could not boot", s);
      }
      consoles_dropped_ = false;
    }
    vm_->state = VmState::kRunning;
    if (vm_->guest) vm_->guest->SetRunning(true);
    RunPendingEjects();
    if (power_button_pending_) SchedulePowerButton();
    return absl::OkStatus();
  }
  if (vm_ && vm_->state == VmState::kRunning) {
    return Chain("The VM could not boot",
                 CheckTransition(VmState::kRunning, VmState::kRunning));
  }
  absl::Status s = vm_ ? StartVm() : BuildAndBoot();
  if (!s.ok()) return Chain("The VM could not boot", s);
  return absl::OkStatus();
}

absl::Status Vmm::BuildAndBoot() {
  if (!consoles_ready_) {
    absl::Status s = CreateConsoles();
    if (!s.ok()) return s;
  }
  auto vm = BuildVm(*config_, nullptr);
  if (!vm.ok()) return vm.status();
  vm_ = *std::move(vm);
  vm_->serial = std::move(serial_);
  vm_->console = std::move(console_);
  consoles_ready_ = false;
  return StartVm();
}

absl::Status Vmm::StartVm() {
  for (auto& d : vm_->disks) {
    if (d->locked) continue;
    if (absl::Status s = LockDisk(*d); !s.ok()) return s;
  }
  if (absl::Status s = CheckTransition(vm_->state, VmState::kRunning); !s.ok())
    return s;
  vm_->state = VmState::kRunning;
  StartGuest(/*cold=*/true);
  return absl::OkStatus();
}

void Vmm::StartGuest(bool cold) {
  Vm* vm = vm_.get();
  Guest::Hooks hooks;
  hooks.hardware = [this, vm]() {
    GuestHardware hw;
    const Json& p = (*config_)["payload"];
    if (p["firmware"].is_string()) {
      hw.cmdline =
          "BOOT_IMAGE=/vmlinuz-6.1.0-chsim root=LABEL=cloudimg-rootfs ro "
          "console=ttyS0";
    } else if (p["cmdline"].is_string()) {
      hw.cmdline = p["cmdline"].get<std::string>();
    }
    hw.vcpus = vm->vcpus;
    hw.memory_size = vm->memory->size();
    for (auto& n : vm->nets) hw.nic_macs.push_back(n->mac);
    hw.marker_disk = vm->MarkerDisk();
    return hw;
  };
  // Deferred: the guest must not be destroyed from inside its own callback.
  hooks.poweroff = [this]() {
    loop_->After(absl::ZeroDuration(), [this] { OnGuestPowerOff(); });
  };
  hooks.reboot = [this]() {
    loop_->After(absl::ZeroDuration(), [this] { OnGuestReboot(); });
  };
  vm->guest = std::make_unique<Guest>(vm->memory.get(), std::move(hooks));
  for (ConsoleDevice* d : {vm->serial.get(), vm->console.get()}) {
    if (d && d->mode() != "Off" && d->mode() != "Null") vm->guest->Attach(d);
  }
  if (cold) {
    const Json& p = (*config_)["payload"];
    std::vector<std::string> paths;
    for (auto& d : vm->disks) paths.push_back(d->path);
    std::string cmdline =
        p["cmdline"].is_string() ? p["cmdline"].get<std::string>() : "";
    vm->guest->Boot(GuestHostname(cmdline, p["firmware"].is_string(), paths));
  }
  vm->guest->SetRunning(vm->state == VmState::kRunning);
}

void Vmm::TearDownVm() {
  if (power_button_timer_) loop_->Cancel(*power_button_timer_);
  power_button_timer_.reset();
  power_button_pending_ = false;
  if (vm_) {
    for (std::unique_ptr<ConsoleDevice>* d : {&vm_->serial, &vm_->console}) {
      if (*d && (*d)->mode() == "Pty") {
        (*d)->SetInput(nullptr);
        retired_ptys_.push_back(std::move(*d));
      }
    }
  }
  vm_.reset();
}

void Vmm::Exit(int code) {
  TearDownVm();
  loop_->Exit(code);
}

void Vmm::OnGuestPowerOff() { Exit(0); }

void Vmm::OnGuestReboot() {
  if (!vm_) return;
  (void)Reboot();
}

absl::Status Vmm::Shutdown() {
  if (!vm_) return Err("The VM could not shutdown\nVM is not running");
  if (absl::Status s = CheckTransition(vm_->state, VmState::kShutdown);
      !s.ok()) {
    return Chain("The VM could not shutdown", s);
  }
  TearDownVm();
  consoles_ready_ = false;
  consoles_dropped_ = false;
  return absl::OkStatus();
}

absl::Status Vmm::Reboot() {
  if (!vm_) return Err("The VM could not reboot\nVM is not created");
  TearDownVm();
  consoles_dropped_ = false;
  if (absl::Status s = CreateConsoles(); !s.ok())
    return Chain("The VM could not reboot", s);
  if (absl::Status s = BuildAndBoot(); !s.ok())
    return Chain("The VM could not reboot", s);
  return absl::OkStatus();
}

absl::Status Vmm::PowerButton() {
  if (!vm_) return Err("Error triggering power button\nVM is not running");
  SchedulePowerButton();
  return absl::OkStatus();
}

void Vmm::SchedulePowerButton() {
  power_button_pending_ = false;
  if (knobs_.ignore_power_button) return;
  if (power_button_timer_) loop_->Cancel(*power_button_timer_);
  power_button_timer_ = loop_->After(knobs_.power_button_delay, [this] {
    power_button_timer_.reset();
    if (!vm_ || !vm_->guest) return;
    if (vm_->state != VmState::kRunning) {
      power_button_pending_ = true;  // seen by the guest after resume
      return;
    }
    vm_->guest->PowerButton();
  });
}

absl::Status Vmm::Pause() {
  if (!vm_) return Err("The VM could not be paused\nVM is not running");
  if (vm_->state == VmState::kPaused) {
    return Err(
        "The VM could not be paused\nCannot pause VM\nFailed to pause "
        "migratable "
        "component\nInvalid transition: InvalidStateTransition(Paused, "
        "Paused)");
  }
  if (absl::Status s = CheckTransition(vm_->state, VmState::kPaused); !s.ok()) {
    return Chain("The VM could not be paused", s);
  }
  vm_->state = VmState::kPaused;
  if (vm_->guest) vm_->guest->SetRunning(false);
  return absl::OkStatus();
}

absl::Status Vmm::Resume() {
  if (!vm_) return Err("The VM could not resume\nVM is not running");
  if (vm_->state == VmState::kRunning) {
    return Err(
        "The VM could not resume\nCannot resume VM\nFailed to resume "
        "migratable "
        "component\nInvalid transition: InvalidStateTransition(Running, "
        "Running)");
  }
  if (knobs_.fail_resume) {
    return Err(
        "The VM could not resume\nCannot resume VM\nFailed to resume "
        "migratable "
        "component\nsimulated failure (CHSIM_FAIL_RESUME=1)");
  }
  if (absl::Status s = CheckTransition(vm_->state, VmState::kRunning);
      !s.ok()) {
    return Chain("The VM could not resume", s);
  }
  vm_->state = VmState::kRunning;
  if (vm_->guest) vm_->guest->SetRunning(true);
  RunPendingEjects();
  if (power_button_pending_) SchedulePowerButton();
  return absl::OkStatus();
}

void Vmm::RunPendingEjects() {
  if (!vm_ || vm_->state != VmState::kRunning) return;
  std::vector<std::string> ids = std::move(vm_->pending_ejects);
  vm_->pending_ejects.clear();
  for (const std::string& id : ids) vm_->Eject(id);
}

absl::StatusOr<Json> Vmm::Info() {
  if (!config_) return Err("The VM info is not available\nVM is not created");
  const Json& c = *config_;
  uint64_t actual = c["memory"]["size"].get<uint64_t>();
  if (c["memory"]["hotplugged_size"].is_number()) {
    actual += c["memory"]["hotplugged_size"].get<uint64_t>();
  }
  if (vm_ && c["balloon"].is_object())
    actual -= c["balloon"]["size"].get<uint64_t>();
  Json info = Json::object();
  info["config"] = c;
  info["state"] = vm_ ? StateName(vm_->state) : "Created";
  info["memory_actual_size"] = actual;
  info["device_tree"] = vm_ ? vm_->device_tree : Json(nullptr);
  return info;
}

absl::StatusOr<Json> Vmm::Counters() {
  if (!vm_) return Err("The VM info is not available\nVM is not running");
  Json out = Json::object();
  for (auto& d : vm_->disks) {
    Json c = Json::object();
    for (const char* k :
         {"read_bytes", "write_bytes", "read_ops", "write_ops",
          "read_latency_min", "read_latency_max", "read_latency_avg",
          "write_latency_min", "write_latency_max", "write_latency_avg"}) {
      c[k] = 0;
    }
    out[d->id] = c;
  }
  for (auto& n : vm_->nets) {
    out[n->id] = Json{
        {"rx_bytes", 0}, {"rx_frames", 0}, {"tx_bytes", 0}, {"tx_frames", 0}};
  }
  return out;
}

void Vmm::Delete() {
  TearDownVm();
  config_.reset();
  serial_.reset();
  console_.reset();
  consoles_ready_ = false;
  consoles_dropped_ = false;
}

}  // namespace chtools::sim
