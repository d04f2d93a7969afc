// The Vmm: CH's long-lived manager holding an optional stored config and an
// optional Vm object, and the REST API handlers with v51's status codes and
// error chains. Everything runs on the one loop thread.
#ifndef CHTOOLS_INTEGRATION_SIM_VMM_H_
#define CHTOOLS_INTEGRATION_SIM_VMM_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "integration/sim/console.h"
#include "integration/sim/http.h"
#include "integration/sim/loop.h"
#include "integration/sim/schema.h"
#include "integration/sim/vm.h"

namespace chtools::sim {

// Fault knobs, read from CHSIM_* environment variables (see README.md).
struct Knobs {
  bool ignore_power_button = false;  // CHSIM_IGNORE_POWER_BUTTON=1
  absl::Duration power_button_delay = absl::Milliseconds(200);
  bool crash_in_snapshot = false;   // CHSIM_CRASH_IN_SNAPSHOT=1
  bool fail_restore = false;        // CHSIM_FAIL_RESTORE=1
  bool fail_resume = false;         // CHSIM_FAIL_RESUME=1
  absl::Duration snapshot_delay;    // CHSIM_SNAPSHOT_DELAY_MS
  absl::Duration restore_delay;     // CHSIM_RESTORE_DELAY_MS
  bool dense_memory_ranges = true;  // unless CHSIM_SPARSE_MEMORY_RANGES=1
  static Knobs FromEnv();
};

class Vmm {
 public:
  Vmm(Loop* loop, Knobs knobs) : loop_(loop), knobs_(knobs) {}
  ~Vmm();

  HttpResponse Handle(const HttpRequest& req);

  // The internal requests; errors are '\n'-joined chains starting with the
  // action's own message ("The VM could not boot\n...").
  absl::Status Create(const Json& config);
  absl::Status Boot();
  absl::Status Restore(const Json& restore_config);
  // Deletes the VM (hard stop) and makes the loop exit with `code`.
  void Exit(int code);

 private:
  absl::Status Shutdown();
  absl::Status Reboot();
  absl::Status PowerButton();
  absl::Status Pause();
  absl::Status Resume();
  absl::Status Snapshot(const Json& body);
  absl::StatusOr<Json> Info();
  absl::StatusOr<Json> Counters();
  absl::StatusOr<std::optional<Json>> AddDisk(const Json& body);
  absl::StatusOr<std::optional<Json>> AddNet(const Json& body);
  absl::Status RemoveDevice(const Json& body);
  absl::Status Resize(const Json& body);
  void Delete();

  // pre_create_console_devices: fresh PTY / socket / file outputs; PTY paths
  // are written into the stored config.
  absl::Status CreateConsoles();
  // Builds (and for cold boot, boots) a Vm from the stored config.
  absl::Status BuildAndBoot();
  absl::Status StartVm();
  void TearDownVm();
  void StartGuest(bool cold);
  void OnGuestPowerOff();
  void OnGuestReboot();
  void SchedulePowerButton();
  void RunPendingEjects();

  Loop* loop_;
  Knobs knobs_;
  std::optional<Json> config_;
  std::unique_ptr<Vm> vm_;
  std::unique_ptr<ConsoleDevice> serial_;  // made at create, taken at boot
  std::unique_ptr<ConsoleDevice> console_;
  // PTYs of a torn-down Vm, kept open until the next outputs exist so the
  // kernel cannot hand out the same /dev/pts number again.
  std::vector<std::unique_ptr<ConsoleDevice>> retired_ptys_;
  bool consoles_ready_ = false;
  bool consoles_dropped_ = false;  // after a snapshot (gotcha 18)
  bool power_button_pending_ = false;
  std::optional<uint64_t> power_button_timer_;
};

}  // namespace chtools::sim

#endif  // CHTOOLS_INTEGRATION_SIM_VMM_H_
