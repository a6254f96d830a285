#include "core/quarantine.h"

namespace fulcrum {

bool Quarantine::failed(Time now, const std::string& name, WorkerId w, bool benchable) {
  if (!enabled()) return false;
  std::deque<Time>& times = failures_[name];
  times.push_back(now);
  while (!times.empty() && times.front() < now - config_.window) times.pop_front();
  if (times.size() < config_.after || !benchable) return false;
  times.clear();
  ends_[w] = now + config_.duration;
  return true;
}

std::vector<WorkerId> Quarantine::release(Time now) {
  std::vector<WorkerId> done;
  for (auto it = ends_.begin(); it != ends_.end();) {
    if (now < it->second) {
      ++it;
      continue;
    }
    done.push_back(it->first);
    it = ends_.erase(it);
  }
  return done;
}

}  // namespace fulcrum
