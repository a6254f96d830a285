// The scheduler's view of its workers: capacity, load and each worker's local FIFO.
//
// ClusterState is owned by the Scheduler and mutated only by it; policies get a const
// reference. A worker is *eligible* for a new task when it is alive, neither suspected nor
// quarantined, and has room under the
// queue cap (cap < 0: unbounded; cap 0: only a free slot, i.e. late binding). The dense
// `eligible()` list lets policies sample uniformly in O(1).
#pragma once

#include <deque>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/job_spec.h"
#include "core/resources.h"
#include "core/types.h"

namespace fulcrum {

// A worker as a scenario's host group or `fulcrum worker` describes it. Its capacity is
// `slots` cores plus the other resources; labels and its zone are what tasks' `require`
// matches (core/resources.h).
struct WorkerSpec {
  std::string name;
  std::string group;
  double speed = 1e9;   // flop/s per slot
  int slots = 1;        // cores
  double weight = 0;    // 0: speed x slots
  Resources resources;  // memory, GPUs and other resources; its cores are `slots`
  std::map<std::string, std::string> labels;
  std::string zone;

  // Everything it offers, cores included.
  Resources capacity() const {
    Resources r = resources;
    r.cores = slots;
    return r;
  }
};

// The field list every serialiser walks (see core/job_spec.h).
template <class V> void fields(V& v, WorkerSpec& w) {
  v.field("name", w.name);
  v.field("group", w.group);
  v.field("speed", w.speed);
  v.field("slots", w.slots);
  v.field("weight", w.weight);
  field_since(v, 4, "resources", w.resources);
  field_since(v, 4, "labels", w.labels);
  field_since(v, 4, "zone", w.zone);
}

struct Worker {
  WorkerId id = 0;
  WorkerSpec spec;
  double weight = 0;
  bool alive = true;
  bool suspected = false;         // silent for a while: no new tasks until heard from again
  bool quarantined = false;       // failed too often lately: no new tasks for a while
  bool draining = false;          // being scaled in: no new tasks, its own ones finish
  Time last_heard = 0;            // last message of any kind from it
  std::deque<TaskId> queue;       // dispatched, not yet reported started, FIFO
  std::vector<TaskId> running;    // reported started
  std::uint32_t in_system = 0;    // queue.size() + running.size()
  double outstanding_flops = 0;   // the sizes of its queued and running tasks
  // Statistics for results.
  std::uint64_t completed = 0;
  double busy_time = 0;  // slot-seconds spent on tasks that finished here
};

class ClusterState {
 public:
  explicit ClusterState(int queue_cap) : queue_cap_(queue_cap) {}

  WorkerId add(const WorkerSpec& spec);
  // Recomputes w's eligibility after its load or liveness changed.
  void refresh(WorkerId w);

  const Worker& worker(WorkerId w) const { return workers_[w]; }
  Worker& mutable_worker(WorkerId w) { return workers_[w]; }
  std::size_t size() const { return workers_.size(); }
  std::span<const Worker> workers() const { return workers_; }
  std::span<const WorkerId> eligible() const { return eligible_; }
  bool is_eligible(WorkerId w) const { return eligible_pos_[w] != kAbsent; }
  int queue_cap() const { return queue_cap_; }
  // The network as planners estimate it: a transfer between two workers takes
  // latency + bytes / bandwidth.
  void set_network(double latency, double bandwidth) {
    latency_ = latency;
    bandwidth_ = bandwidth;
  }
  double latency() const { return latency_; }
  double bandwidth() const { return bandwidth_; }
  // The time of the event being handled: policies read it, they never read a clock.
  Time now() const { return now_; }
  void set_now(Time now) { now_ = now; }

 private:
  static constexpr std::uint32_t kAbsent = ~0u;
  bool should_be_eligible(const Worker& w) const;

  int queue_cap_;
  double latency_ = 0;
  double bandwidth_ = 1.25e9;
  Time now_ = 0;
  std::vector<Worker> workers_;
  std::vector<WorkerId> eligible_;
  std::vector<std::uint32_t> eligible_pos_;
};

}  // namespace fulcrum
