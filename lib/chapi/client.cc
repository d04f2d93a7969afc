#include "lib/chapi/client.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "lib/base/status_macros.h"
#include "lib/record/printable.h"

namespace chtools::chapi {
namespace {

using ::nlohmann::json;

constexpr absl::string_view kChErrorUrl = "type.chtools/chapi.ChError";

// Chain elements that mean "the VM is not in the state this call needs",
// as CH v51 words them (vmm/src/api/mod.rs, vmm/src/lib.rs, vm.rs).
constexpr absl::string_view kStateErrors[] = {
    "VM is not created",
    "VM is not running",
    "VM is already created",
    "VM config is missing",
    "invalid VM state transition",
    "InvalidStateTransition",
    "Trying to snapshot while VM is running",
};

bool ChainHas(const ChError& e, absl::string_view needle) {
  for (const std::string& s : e.chain) {
    if (absl::StrContains(s, needle)) return true;
  }
  return false;
}

}  // namespace

absl::Status ChErrorStatus(absl::string_view endpoint, int http_status,
                           absl::string_view body) {
  ChError e;
  e.endpoint = std::string(endpoint);
  e.http_status = http_status;
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_array()) {
    for (const json& item : parsed) {
      // CH's words, but CH is not trusted: escaped and bounded.
      e.chain.push_back(record::PrintableCut(
          item.is_string() ? item.get<std::string>() : item.dump(), 1024));
      if (e.chain.size() >= 16) break;
    }
  } else if (parsed.is_object() && parsed.contains("error") &&
             parsed["error"].is_string()) {
    // micro_http's own parse errors (e.g. an unknown method).
    e.chain.push_back(
        record::PrintableCut(parsed["error"].get<std::string>(), 1024));
  } else if (!absl::StripAsciiWhitespace(body).empty()) {
    e.chain.push_back(
        record::PrintableCut(absl::StripAsciiWhitespace(body), 1024));
  }

  absl::StatusCode code = absl::StatusCode::kUnknown;
  if (http_status == 400) {
    code = absl::StatusCode::kInvalidArgument;
  } else if (http_status == 404) {
    code = absl::StatusCode::kNotFound;
  } else if (http_status == 429 || http_status == 503) {
    code = absl::StatusCode::kUnavailable;
  } else if (http_status == 500) {
    for (absl::string_view s : kStateErrors) {
      if (ChainHas(e, s)) code = absl::StatusCode::kFailedPrecondition;
    }
  }
  std::string message = absl::StrCat(endpoint, ": HTTP ", http_status);
  if (!e.chain.empty())
    absl::StrAppend(&message, ": ", absl::StrJoin(e.chain, ": "));
  absl::Status status(code, message);
  json payload = {{"endpoint", e.endpoint},
                  {"http_status", e.http_status},
                  {"chain", e.chain}};
  status.SetPayload(kChErrorUrl, absl::Cord(payload.dump()));
  return status;
}

std::optional<ChError> GetChError(const absl::Status& status) {
  auto payload = status.GetPayload(kChErrorUrl);
  if (!payload.has_value()) return std::nullopt;
  json j = json::parse(std::string(*payload), nullptr, false);
  if (!j.is_object()) return std::nullopt;
  ChError e;
  e.endpoint = j.value("endpoint", "");
  e.http_status = j.value("http_status", 0);
  if (j.contains("chain") && j["chain"].is_array()) {
    for (const json& s : j["chain"]) {
      if (s.is_string()) e.chain.push_back(s.get<std::string>());
    }
  }
  return e;
}

bool IsVmNotCreated(const absl::Status& status) {
  std::optional<ChError> e = GetChError(status);
  if (!e.has_value()) return false;
  if (e->http_status == 404 && absl::StartsWith(e->endpoint, "vm.")) {
    // v53 maps VmNotCreated / VmMissingConfig to 404; v51 gives 404 only for
    // unknown paths, which the typed calls never use.
    return true;
  }
  return ChainHas(*e, "VM is not created") ||
         ChainHas(*e, "VM config is missing");
}

Client::Client(std::string api_socket, absl::Duration timeout)
    : api_socket_(std::move(api_socket)), timeout_(timeout) {}

absl::StatusOr<HttpResponse> Client::Call(absl::string_view method,
                                          absl::string_view endpoint,
                                          const json& body,
                                          absl::Duration timeout) {
  std::string text = body.is_null() ? std::string() : body.dump();
  ASSIGN_OR_RETURN(
      HttpResponse resp,
      UnixHttpRequest(api_socket_, method, absl::StrCat("/api/v1/", endpoint),
                      text, timeout));
  if (resp.status < 200 || resp.status > 299) {
    return ChErrorStatus(endpoint, resp.status, resp.body);
  }
  return resp;
}

absl::Status Client::Put(absl::string_view endpoint, const json& body) {
  return Call("PUT", endpoint, body, timeout_).status();
}

absl::StatusOr<json> Client::GetJson(absl::string_view endpoint) {
  ASSIGN_OR_RETURN(HttpResponse resp, Call("GET", endpoint, nullptr, timeout_));
  json j = json::parse(resp.body, nullptr, false);
  if (j.is_discarded()) {
    return absl::InternalError(
        absl::StrCat(endpoint, ": HTTP ", resp.status, ": body is not JSON: \"",
                     record::PrintableCut(resp.body, 200), "\""));
  }
  return j;
}

absl::Status Client::Ping() { return GetJson("vmm.ping").status(); }

absl::StatusOr<json> Client::VmmPing() { return GetJson("vmm.ping"); }

absl::StatusOr<json> Client::Info() { return GetJson("vm.info"); }

absl::StatusOr<json> Client::Counters() { return GetJson("vm.counters"); }

absl::Status Client::Create(const json& vm_config) {
  if (!vm_config.is_object()) {
    return absl::InvalidArgumentError(
        "vm.create: the VM config must be a JSON object");
  }
  return Put("vm.create", vm_config);
}

absl::Status Client::Boot() { return Put("vm.boot"); }
absl::Status Client::Shutdown() { return Put("vm.shutdown"); }
absl::Status Client::Reboot() { return Put("vm.reboot"); }
absl::Status Client::PowerButton() { return Put("vm.power-button"); }
absl::Status Client::Delete() { return Put("vm.delete"); }
absl::Status Client::ShutdownVmm() { return Put("vmm.shutdown"); }

absl::Status Client::Pause() {
  absl::Status s = Put("vm.pause");
  // v51 has no idempotent pause: a second pause fails deep in the device
  // layer with this transition error. The VM is paused, which is what the
  // caller asked for.
  std::optional<ChError> e = GetChError(s);
  if (e.has_value() && e->http_status == 500 &&
      ChainHas(*e, "InvalidStateTransition(Paused, Paused)")) {
    return absl::OkStatus();
  }
  return s;
}

absl::Status Client::Resume() {
  absl::Status s = Put("vm.resume");
  std::optional<ChError> e = GetChError(s);
  if (e.has_value() && e->http_status == 500 &&
      ChainHas(*e, "InvalidStateTransition(Running, Running)")) {
    return absl::OkStatus();
  }
  return s;
}

absl::Status Client::Snapshot(absl::string_view destination_url) {
  json body = {{"destination_url", std::string(destination_url)}};
  return Call("PUT", "vm.snapshot", body, long_timeout_).status();
}

absl::Status Client::Restore(absl::string_view source_url, bool prefault) {
  json body = {{"source_url", std::string(source_url)}};
  if (prefault) body["prefault"] = true;
  return Call("PUT", "vm.restore", body, long_timeout_).status();
}

absl::StatusOr<json> Client::AddDevice(absl::string_view endpoint,
                                       const json& device) {
  if (!device.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(endpoint, ": the device config must be a JSON object"));
  }
  ASSIGN_OR_RETURN(HttpResponse resp, Call("PUT", endpoint, device, timeout_));
  if (resp.status == 204 || resp.body.empty()) return json(nullptr);
  json j = json::parse(resp.body, nullptr, false);
  if (!j.is_object()) {
    return absl::InternalError(absl::StrCat(
        endpoint, ": HTTP ", resp.status, ": body is not a JSON object: \"",
        record::PrintableCut(resp.body, 200), "\""));
  }
  return j;
}

absl::StatusOr<json> Client::AddDisk(const json& disk) {
  return AddDevice("vm.add-disk", disk);
}

absl::StatusOr<json> Client::AddNet(const json& net) {
  return AddDevice("vm.add-net", net);
}

absl::Status Client::RemoveDevice(absl::string_view id) {
  return Put("vm.remove-device", json{{"id", std::string(id)}});
}

absl::Status Client::Resize(std::optional<int> vcpus,
                            std::optional<int64_t> memory_bytes) {
  json body = json::object();
  if (vcpus.has_value()) body["desired_vcpus"] = *vcpus;
  if (memory_bytes.has_value()) body["desired_ram"] = *memory_bytes;
  return Put("vm.resize", body);
}

}  // namespace chtools::chapi
