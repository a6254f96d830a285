#include "core/cluster.h"

namespace fulcrum {

WorkerId ClusterState::add(const WorkerSpec& spec) {
  Worker w;
  w.id = static_cast<WorkerId>(workers_.size());
  w.spec = spec;
  w.weight = spec.weight > 0 ? spec.weight : spec.speed * spec.slots;
  workers_.push_back(std::move(w));
  eligible_pos_.push_back(kAbsent);
  refresh(workers_.back().id);
  return workers_.back().id;
}

bool ClusterState::should_be_eligible(const Worker& w) const {
  if (!w.alive || w.suspected || w.quarantined || w.draining) return false;
  if (queue_cap_ < 0) return true;
  return w.in_system < static_cast<std::uint32_t>(w.spec.slots + queue_cap_);
}

void ClusterState::refresh(WorkerId id) {
  const bool want = should_be_eligible(workers_[id]);
  const bool have = eligible_pos_[id] != kAbsent;
  if (want == have) return;
  if (want) {
    eligible_pos_[id] = static_cast<std::uint32_t>(eligible_.size());
    eligible_.push_back(id);
  } else {
    // Swap-remove keeps the list dense; its order is deterministic given the event order.
    const std::uint32_t pos = eligible_pos_[id];
    const WorkerId last = eligible_.back();
    eligible_[pos] = last;
    eligible_pos_[last] = pos;
    eligible_.pop_back();
    eligible_pos_[id] = kAbsent;
  }
}

}  // namespace fulcrum
