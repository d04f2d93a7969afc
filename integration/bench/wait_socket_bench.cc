// wait_socket_bench: how soon a caller learns that a freshly started CH
// (the simulator) serves its API socket: WaitForApiSocket (inotify + pidfd)
// against cocoon's loop (connect, then sleep 100 ms) and against a busy
// connect loop (the fastest possible, burning a core), in the same run.
//
// Usage: wait_socket_bench [runs]   (run with bazel run; prints a table)
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "integration/sim/sim_fixture.h"
#include "lib/chapi/wait_socket.h"

namespace {

using chtools::conformance::Sim;
using chtools::conformance::SimOptions;

bool CanConnect(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

enum class Method { kInotify, kPoll100ms, kBusy };

// Starts the simulator (bind delayed by `bind_delay_ms`) and returns the time
// from spawn until `method` reports the socket ready.
absl::Duration Measure(Method method, int bind_delay_ms) {
  SimOptions o;
  o.wait = false;
  o.extra_env = {"CHSIM_BIND_DELAY_MS=" + std::to_string(bind_delay_ms)};
  absl::Time start = absl::Now();
  auto sim = Sim::Start(o);
  if (!sim.ok()) {
    std::fprintf(stderr, "start: %s\n",
                 std::string(sim.status().message()).c_str());
    std::exit(1);
  }
  const std::string& sock = (*sim)->api_socket();
  switch (method) {
    case Method::kInotify:
      if (!chtools::chapi::WaitForApiSocket(sock, (*sim)->child().pidfd(),
                                            absl::Seconds(20))
               .ok()) {
        std::exit(1);
      }
      break;
    case Method::kPoll100ms:
      while (!CanConnect(sock)) absl::SleepFor(absl::Milliseconds(100));
      break;
    case Method::kBusy:
      while (!CanConnect(sock)) {
      }
      break;
  }
  return absl::Now() - start;
}

double MedianMs(std::vector<absl::Duration> v) {
  std::sort(v.begin(), v.end());
  return absl::ToDoubleMilliseconds(v[v.size() / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 15;
  if (runs < 1) runs = 1;
  std::printf("%-12s %12s %12s %12s %10s %10s\n", "bind delay", "busy ms",
              "inotify ms", "poll100 ms", "ino/busy", "poll/ino");
  for (int delay : {0, 37, 150}) {
    std::vector<absl::Duration> busy, ino, poll;
    for (int i = 0; i < runs; ++i) {
      busy.push_back(Measure(Method::kBusy, delay));
      ino.push_back(Measure(Method::kInotify, delay));
      poll.push_back(Measure(Method::kPoll100ms, delay));
    }
    double b = MedianMs(busy), n = MedianMs(ino), p = MedianMs(poll);
    std::printf("%-12s %12.2f %12.2f %12.2f %10.2f %10.2f\n",
                (std::to_string(delay) + " ms").c_str(), b, n, p, n / b, p / n);
  }
  return 0;
}
