// Client: typed calls to Cloud Hypervisor's REST API (v51) over its unix
// socket. Every call is sent exactly once; errors carry CH's error chain.
#ifndef CHTOOLS_LIB_CHAPI_CLIENT_H_
#define CHTOOLS_LIB_CHAPI_CLIENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/chapi/unix_http.h"
#include "lib/chapi/wait_socket.h"
#include "nlohmann/json.hpp"

namespace chtools::chapi {

// An error answer from CH. Attached as a payload to every status that a
// Client call returns for a non-2xx HTTP answer; read it with GetChError().
struct ChError {
  std::string endpoint;            // "vm.pause"
  int http_status = 0;             // 400, 404, 429, 500, ...
  std::vector<std::string> chain;  // CH's error chain, outermost first
};

// The ChError of `status`, or nullopt for ok / transport / other errors.
std::optional<ChError> GetChError(const absl::Status& status);

// True if CH answered that there is no VM (v51: 500 "VM is not created" or
// "VM config is missing"; v53 answers 404 for the same).
bool IsVmNotCreated(const absl::Status& status);

// Status codes of Client calls:
//   CH answered an error: message "<endpoint>: HTTP <code>: <chain joined by
//     ': '>", code InvalidArgument (400), NotFound (404), Unavailable (429),
//     FailedPrecondition (500 that is a VM-state error: not created / not
//     running / already created / invalid transition), Unknown (other 500s).
//   Transport: Unavailable (socket missing/refused, connection broke),
//     DeadlineExceeded (no answer in time), Internal (malformed HTTP/JSON).
class Client {
 public:
  // Snapshot and restore move whole memory images: they get this instead
  // of the per-call timeout.
  static constexpr absl::Duration kLongTimeout = absl::Minutes(10);

  explicit Client(std::string api_socket,
                  absl::Duration timeout = absl::Seconds(30));
  virtual ~Client() = default;

  const std::string& api_socket() const { return api_socket_; }
  // Overrides kLongTimeout for snapshot/restore (tests).
  void set_long_timeout(absl::Duration t) { long_timeout_ = t; }

  // GET vmm.ping.
  virtual absl::Status Ping();
  // GET vmm.ping body: {"build_version","version","pid","features"}.
  virtual absl::StatusOr<nlohmann::json> VmmPing();
  // GET vm.info body: {"config","state","memory_actual_size","device_tree"}.
  virtual absl::StatusOr<nlohmann::json> Info();
  // PUT vm.create with a VmConfig (CH does not validate it until boot).
  virtual absl::Status Create(const nlohmann::json& vm_config);
  virtual absl::Status Boot();         // PUT vm.boot (resumes a Paused VM)
  virtual absl::Status Shutdown();     // PUT vm.shutdown (config is kept)
  virtual absl::Status Reboot();       // PUT vm.reboot
  virtual absl::Status PowerButton();  // PUT vm.power-button
  virtual absl::Status Delete();       // PUT vm.delete
  // PUT vmm.shutdown: CH answers (200) and then exits 0.
  virtual absl::Status ShutdownVmm();
  // PUT vm.pause; CH's "already paused" answer counts as success.
  virtual absl::Status Pause();
  // PUT vm.resume; CH's "already running" answer counts as success.
  virtual absl::Status Resume();
  // PUT vm.snapshot {"destination_url"}: the VM must be Paused and the
  // directory must exist and be empty of CH's files. Long timeout.
  virtual absl::Status Snapshot(absl::string_view destination_url);
  // PUT vm.restore {"source_url"[, "prefault"]}: the VM comes up Paused.
  // Long timeout.
  virtual absl::Status Restore(absl::string_view source_url,
                               bool prefault = false);
  // PUT vm.add-disk / vm.add-net: the PciDeviceInfo {"id","bdf"} when a VM
  // object exists (200), or a null json when CH only appended the device to
  // a created-but-not-booted config (204, no id assigned yet).
  virtual absl::StatusOr<nlohmann::json> AddDisk(const nlohmann::json& disk);
  virtual absl::StatusOr<nlohmann::json> AddNet(const nlohmann::json& net);
  // PUT vm.remove-device {"id"}.
  virtual absl::Status RemoveDevice(absl::string_view id);
  // PUT vm.resize with desired_vcpus / desired_ram (bytes) when given.
  virtual absl::Status Resize(std::optional<int> vcpus,
                              std::optional<int64_t> memory_bytes);
  // GET vm.counters body: {device id: {counter: value}}.
  virtual absl::StatusOr<nlohmann::json> Counters();

 protected:
  // Sends one request to /api/v1/<endpoint>; non-2xx answers become errors
  // as documented above. `body` is sent when not null.
  absl::StatusOr<HttpResponse> Call(absl::string_view method,
                                    absl::string_view endpoint,
                                    const nlohmann::json& body,
                                    absl::Duration timeout);

 private:
  absl::Status Put(absl::string_view endpoint,
                   const nlohmann::json& body = nullptr);
  absl::StatusOr<nlohmann::json> GetJson(absl::string_view endpoint);
  absl::StatusOr<nlohmann::json> AddDevice(absl::string_view endpoint,
                                           const nlohmann::json& device);

  std::string api_socket_;
  absl::Duration timeout_;
  absl::Duration long_timeout_ = kLongTimeout;
};

// Builds the status for an HTTP error answer (exposed for tests): parses the
// body as CH's JSON array of strings (or micro_http's {"error": ...}).
absl::Status ChErrorStatus(absl::string_view endpoint, int http_status,
                           absl::string_view body);

}  // namespace chtools::chapi

#endif  // CHTOOLS_LIB_CHAPI_CLIENT_H_
