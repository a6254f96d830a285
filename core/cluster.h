// The scheduler's view of its workers: capacity, load, each worker's local FIFO, and which
// workers can take which task (feasibility, the second stage of a decision).
//
// ClusterState is owned by the Scheduler and mutated only by it; policies get a const
// reference. Tasks are indexed by shape (their request, required labels and spread); for
// each shape a dense list of the workers eligible for it now lets policies sample
// uniformly in O(1), and a worker's change updates every shape's list in O(shapes x
// dimensions): a workload has a handful of shapes, so feasibility is never a scan of
// the workers.
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

// Whether `worker` carries every label `require` names with its value (the key `zone`
// names its zone).
bool carries(const WorkerSpec& worker, const std::map<std::string, std::string>& require);

// A task's placement needs as the core indexes them (ClusterState::shape_of): tasks with
// the same request, required labels and spread share a shape, and each shape keeps the
// dense list of workers that can take such a task now.
using ShapeId = std::uint32_t;

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
  // By dimension (ClusterState::dimensions()): what it offers (memory not limited:
  // infinity), and that minus the requests of the tasks it holds (queued or running; may
  // go below zero when unbounded local queues hold more than fits at once).
  std::vector<double> capacity;
  std::vector<double> free;
  // Statistics for results.
  std::uint64_t completed = 0;
  double busy_time = 0;  // slot-seconds spent on tasks that finished here
};

class ClusterState {
 public:
  // Shape 0 is the default task's (one core, no labels): every worker with a core fits it.
  explicit ClusterState(int queue_cap);

  WorkerId add(const WorkerSpec& spec);
  // Recomputes w's eligibility, for every shape, after its load or liveness changed.
  void refresh(WorkerId w);

  const Worker& worker(WorkerId w) const { return workers_[w]; }
  Worker& mutable_worker(WorkerId w) { return workers_[w]; }
  std::size_t size() const { return workers_.size(); }
  std::span<const Worker> workers() const { return workers_; }
  int queue_cap() const { return queue_cap_; }

  // --- feasibility: which workers can take a task of a shape (docs/architecture.md) ---
  // A worker is *eligible* for a shape when it is alive, neither suspected, quarantined
  // nor draining, fits the shape's request in every dimension and carries its required
  // labels, and has room: any (queue cap < 0: tasks wait in its local queue until their
  // request fits), the request fits what is free now (cap 0: late binding), or fewer than
  // slots + cap tasks (cap > 0).
  ShapeId shape_of(const TaskSpec& spec);
  std::size_t shape_count() const { return shapes_.size(); }
  // The shape policies are asked about: eligible() and is_eligible(w) read it. The
  // scheduler sets it before each pick.
  void set_shape(ShapeId s) { active_ = s; }
  ShapeId shape() const { return active_; }
  std::span<const WorkerId> eligible() const { return shapes_[active_].eligible; }
  bool is_eligible(WorkerId w) const { return is_eligible(w, active_); }
  std::span<const WorkerId> eligible(ShapeId s) const { return shapes_[s].eligible; }
  bool is_eligible(WorkerId w, ShapeId s) const { return shapes_[s].pos[w] != kAbsent; }
  // Whether a task of shape s fits w's capacity (ignoring load and liveness), and its
  // labels; how many workers added so far do.
  bool fits_capacity(WorkerId w, ShapeId s) const { return shapes_[s].fits[w] != 0; }
  std::size_t fitting_workers(ShapeId s) const { return shapes_[s].fitting; }
  // Whether its request fits what w has free now.
  bool fits_free(WorkerId w, ShapeId s) const;
  // The shape's request by dimension, its required labels and spread, as given.
  const std::vector<double>& request(ShapeId s) const { return shapes_[s].request; }
  const TaskSpec& needs(ShapeId s) const { return shapes_[s].needs; }
  // Dimension names: cores, memory, gpus, then other resources in the order first seen.
  const std::vector<std::string>& dimensions() const { return dimensions_; }
  // A task of shape s was put on w (+1) or left it (-1): w's free resources follow.
  void hold(WorkerId w, ShapeId s, int sign);
  // Whether w takes new work at all: alive, neither suspected, quarantined nor draining.
  bool in_service(WorkerId w) const { return available(workers_[w]); }
  // w holds nothing any more (it died): all of its capacity is free.
  void release_all(WorkerId w) { workers_[w].free = workers_[w].capacity; }

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
  struct Shape {
    TaskSpec needs;                    // only request, require and spread are set
    std::vector<double> request;       // by dimension
    std::vector<std::uint8_t> fits;    // by worker: capacity and labels
    std::size_t fitting = 0;           // workers with fits[w]
    std::vector<WorkerId> eligible;    // dense, for O(1) sampling
    std::vector<std::uint32_t> pos;    // by worker: index in eligible, or kAbsent
  };
  bool available(const Worker& w) const;
  bool has_room(const Worker& w, const Shape& s) const;
  bool fits_capacity(const Worker& w, const Shape& s) const;
  std::size_t dimension(const std::string& name);
  std::vector<double> dense(const Resources& r, bool capacity);
  void update(WorkerId w, Shape& s, bool want);

  int queue_cap_;
  double latency_ = 0;
  double bandwidth_ = 1.25e9;
  Time now_ = 0;
  std::vector<Worker> workers_;
  std::vector<std::string> dimensions_;
  std::vector<Shape> shapes_;
  ShapeId active_ = 0;
  ShapeId last_shape_ = 0;  // shape_of's cache: consecutive tasks mostly share one
};

}  // namespace fulcrum
