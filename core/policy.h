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

#include "core/cluster.h"
#include "core/random.h"
#include "core/task.h"

namespace fulcrum {

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
  // the current cluster; they may overwrite `priorities` (one per task, higher first in
  // the central queue). The job's tasks get ids first, first + 1, ...
  virtual void on_job_submitted(const ClusterState& /*cluster*/, const JobSpec& /*job*/, TaskId /*first*/,
                                Time /*now*/, std::vector<double>& /*priorities*/) {}
};

}  // namespace fulcrum
