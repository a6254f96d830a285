// The interface every load-balancing policy implements.
//
// A policy names the worker that a ready task should join, or none to keep it waiting
// centrally. It reads the cluster through a const reference and draws randomness only
// from the Rng it is given (the scheduler's seeded generator). The scheduler calls the
// feedback hooks after it changed a worker so that policies can keep O(log n) indexes.
// A policy is owned by exactly one Scheduler.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/cluster.h"
#include "core/random.h"
#include "core/task.h"

namespace fulcrum {

// What the scheduler decided for a job when it was submitted: a priority per task (higher
// first in the central queue) and, where a DAG-aware policy planned one, the worker each
// task should run on, by name ("" none). Drivers journal it, so that a new leader keeps
// the plan across a failover (core/durable.h, JobPlanned).
struct JobPlan {
  std::vector<double> priorities;
  std::vector<std::string> workers;  // empty, or one per task

  bool operator==(const JobPlan&) const = default;
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string name() const = 0;

  // REQUIRES: cluster.eligible() is not empty. Returns an eligible worker or nullopt.
  virtual std::optional<WorkerId> pick(const ClusterState& cluster, const Task& task, Rng& rng) = 0;

  // Called once per worker added, and whenever a worker's load (in_system), liveness or
  // eligibility changed.
  virtual void on_worker_changed(const ClusterState& /*cluster*/, WorkerId /*w*/) {}

  // Called when worker w reports `task` finished, before the task leaves it: `task` still
  // holds its dispatch and start times (start as the worker reported it), `now` is the end.
  // Learning policies train on this; the cluster is as the worker's load was before.
  virtual void on_task_finished(const ClusterState& /*cluster*/, WorkerId /*w*/, const Task& /*task*/,
                                Time /*now*/) {}

  // DAG-aware policies see each whole job when it is submitted and may plan it against
  // the current cluster: they may overwrite plan.priorities (one per task) and fill
  // plan.workers with the worker each task is planned on. The job's tasks get ids
  // first, first + 1, ...
  virtual void on_job_submitted(const ClusterState& /*cluster*/, const JobSpec& /*job*/, TaskId /*first*/,
                                Time /*now*/, JobPlan& /*plan*/) {}

  // A plan journaled by an earlier leader (replayed after a failover): tasks first,
  // first + 1, ... were planned on these workers (names; "" none). Workers may not have
  // joined yet.
  virtual void restore_plan(TaskId /*first*/, const std::vector<std::string>& /*workers*/) {}
};

}  // namespace fulcrum
