// A single-threaded poll(2) event loop: fd watches and one-shot timers. CH
// serialises API requests on one VMM thread; one loop gives the same order.
#ifndef CHTOOLS_INTEGRATION_SIM_LOOP_H_
#define CHTOOLS_INTEGRATION_SIM_LOOP_H_

#include <poll.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>

#include "absl/time/time.h"

namespace chtools::sim {

class Loop {
 public:
  using FdCallback = std::function<void(short revents)>;

  // Watches `fd` for `events` (replacing an earlier watch of the same fd).
  void Watch(int fd, short events, FdCallback cb);
  void Unwatch(int fd);
  // Runs `cb` once after `delay`; returns an id for Cancel.
  uint64_t After(absl::Duration delay, std::function<void()> cb);
  void Cancel(uint64_t timer_id);
  // Makes Run() return `code` after the current callback.
  void Exit(int code) { exit_code_ = code; }
  // Dispatches until Exit(); returns its code.
  int Run();

 private:
  struct Watcher {
    short events;
    FdCallback cb;
    uint64_t generation;
  };
  struct Timer {
    absl::Time when;
    std::function<void()> cb;
  };
  std::map<int, Watcher> watchers_;
  std::map<uint64_t, Timer> timers_;
  uint64_t next_id_ = 1;
  std::optional<int> exit_code_;
};

}  // namespace chtools::sim

#endif  // CHTOOLS_INTEGRATION_SIM_LOOP_H_
