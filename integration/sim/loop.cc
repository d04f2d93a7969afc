// poll(2) loop; see loop.h.
#include "integration/sim/loop.h"

#include <cerrno>
#include <vector>

#include "absl/time/clock.h"

namespace chtools::sim {

void Loop::Watch(int fd, short events, FdCallback cb) {
  watchers_[fd] = Watcher{events, std::move(cb), next_id_++};
}

void Loop::Unwatch(int fd) { watchers_.erase(fd); }

uint64_t Loop::After(absl::Duration delay, std::function<void()> cb) {
  uint64_t id = next_id_++;
  timers_[id] = Timer{absl::Now() + delay, std::move(cb)};
  return id;
}

void Loop::Cancel(uint64_t timer_id) { timers_.erase(timer_id); }

int Loop::Run() {
  while (!exit_code_) {
    std::vector<pollfd> fds;
    std::vector<uint64_t> gens;
    for (const auto& [fd, w] : watchers_) {
      fds.push_back(pollfd{fd, w.events, 0});
      gens.push_back(w.generation);
    }
    int timeout_ms = -1;
    absl::Time now = absl::Now();
    for (const auto& [id, t] : timers_) {
      int64_t ms = absl::ToInt64Milliseconds(
          absl::Ceil(t.when - now, absl::Milliseconds(1)));
      if (ms < 0) ms = 0;
      if (timeout_ms < 0 || ms < timeout_ms) timeout_ms = static_cast<int>(ms);
    }
    int n = poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0 && errno != EINTR) return 1;
    now = absl::Now();
    std::vector<uint64_t> due;
    for (const auto& [id, t] : timers_) {
      if (t.when <= now) due.push_back(id);
    }
    for (uint64_t id : due) {
      auto it = timers_.find(id);
      if (it == timers_.end()) continue;
      std::function<void()> cb = std::move(it->second.cb);
      timers_.erase(it);
      cb();
      if (exit_code_) return *exit_code_;
    }
    if (n <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      auto it = watchers_.find(fds[i].fd);
      // Skip watches removed or replaced by an earlier callback.
      if (it == watchers_.end() || it->second.generation != gens[i]) continue;
      FdCallback cb = it->second.cb;
      cb(fds[i].revents);
      if (exit_code_) return *exit_code_;
    }
  }
  return *exit_code_;
}

}  // namespace chtools::sim
