// The autoscaler's view of the cluster's load, kept incrementally: each worker's share
// (slots, tasks held, busy slots) while it is in service (alive and not draining), and
// their sums, updated in O(1) whenever a worker changes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/cluster.h"

namespace fulcrum {

class LoadAccount {
 public:
  // Replaces w's share with what `worker` holds now.
  void update(WorkerId w, const Worker& worker) {
    if (shares_.size() <= w) shares_.resize(w + 1);
    Share& s = shares_[w];
    busy_ -= s.busy;
    tasks_ -= s.tasks;
    slots_ -= s.slots;
    in_service_ -= s.serving ? 1 : 0;
    s.serving = worker.alive && !worker.draining;
    s.slots = s.serving ? worker.spec.slots : 0;
    s.tasks = s.serving ? worker.in_system : 0;
    s.busy = std::min(s.tasks, s.slots);
    busy_ += s.busy;
    tasks_ += s.tasks;
    slots_ += s.slots;
    in_service_ += s.serving ? 1 : 0;
  }
  double busy() const { return busy_; }    // slots running a task
  double tasks() const { return tasks_; }  // tasks held by workers in service
  double slots() const { return slots_; }
  std::uint32_t in_service() const { return in_service_; }

 private:
  struct Share {
    double busy = 0, tasks = 0, slots = 0;
    bool serving = false;
  };
  std::vector<Share> shares_;
  double busy_ = 0, tasks_ = 0, slots_ = 0;
  std::uint32_t in_service_ = 0;
};

}  // namespace fulcrum
