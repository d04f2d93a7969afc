#include "lib/cli/values.h"

#include <arpa/inet.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/record/ids.h"

namespace chtools::cli {

using ::chtools::record::IsIpv4;

absl::StatusOr<int64_t> ParseSize(absl::string_view flag,
                                  absl::string_view text) {
  auto bad = [&]() {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", text,
                     ": not a size (e.g. 512M, 1G, 10GiB, or bytes)"));
  };
  std::string s = absl::AsciiStrToLower(text);
  size_t digits = 0;
  while (digits < s.size() && absl::ascii_isdigit(s[digits])) ++digits;
  if (digits == 0) return bad();
  uint64_t n;
  if (!absl::SimpleAtoi(s.substr(0, digits), &n)) return bad();
  std::string suffix = s.substr(digits);
  if (absl::EndsWith(suffix, "b")) suffix.pop_back();
  if (absl::EndsWith(suffix, "i")) suffix.pop_back();
  int shift;
  if (suffix.empty()) {
    shift = 0;
  } else if (suffix.size() == 1 &&
             std::string("kmgtp").find(suffix[0]) != std::string::npos) {
    shift = 10 * (1 + static_cast<int>(std::string("kmgtp").find(suffix[0])));
  } else {
    return bad();
  }
  if (n > (uint64_t{INT64_MAX} >> shift)) return bad();
  return static_cast<int64_t>(n << shift);
}

absl::StatusOr<NetworkConfig> ParseNicSpec(absl::string_view spec) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("--nic ", spec, ": ", why));
  };
  NetworkConfig nic;
  std::string gw;
  for (absl::string_view part : absl::StrSplit(spec, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    const std::string& k = kv.first;
    const std::string& v = kv.second;
    if (v.empty()) return bad(absl::StrCat("\"", part, "\" is not key=value"));
    if (k == "tap") {
      nic.set_tap(v);
    } else if (k == "mac") {
      nic.set_mac(v);
    } else if (k == "netns") {
      nic.set_netns_path(
          v.find('/') == std::string::npos ? "/var/run/netns/" + v : v);
    } else if (k == "ip") {
      std::pair<std::string, std::string> ap =
          absl::StrSplit(v, absl::MaxSplits('/', 1));
      int prefix;
      if (!IsIpv4(ap.first))
        return bad(
            absl::StrCat("ip: \"", ap.first, "\" is not an IPv4 address"));
      if (!absl::SimpleAtoi(ap.second, &prefix) || prefix < 1 || prefix > 32) {
        return bad(absl::StrCat("ip: \"", v,
                                "\" needs a prefix length 1..32 (a.b.c.d/nn)"));
      }
      nic.mutable_ipv4()->set_ip(ap.first);
      nic.mutable_ipv4()->set_prefix(prefix);
    } else if (k == "gw") {
      if (!IsIpv4(v))
        return bad(absl::StrCat("gw: \"", v, "\" is not an IPv4 address"));
      gw = v;
    } else {
      return bad(absl::StrCat("unknown key \"", k,
                              "\" (expected tap, mac, netns, ip, gw)"));
    }
  }
  if (nic.tap().empty()) return bad("tap= is required");
  if (!gw.empty()) {
    if (!nic.has_ipv4()) return bad("gw= needs ip=");
    nic.mutable_ipv4()->set_gateway(gw);
  }
  return nic;
}

}  // namespace chtools::cli
