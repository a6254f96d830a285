// The scheduler: a deterministic, sans-I/O state machine.
//
// Drivers feed it events (each carries `now`, which must not decrease) and drain the
// commands it emits. It owns the task table, the cluster state and the policy. It never
// reads a clock, a socket, a file or a global random source: the same events with the
// same seed produce the same commands, bit for bit.
//
// Where a task waits: a ready task is offered to the policy at once and joins the chosen
// worker's local FIFO (a Dispatch command). If no worker is eligible (all dead, or full
// under the queue cap) or the policy declines, it waits in a central FIFO and is offered
// again whenever a worker frees room.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "core/cluster.h"
#include "core/policy.h"
#include "core/random.h"
#include "core/task.h"

namespace fulcrum {

struct Command {
  enum class Kind : std::uint8_t { kDispatch, kCancel };
  Kind kind;
  TaskId task;
  WorkerId worker;
  double flops;
  std::uint64_t epoch;
};

struct SchedulerConfig {
  std::uint64_t seed = 1;
  int queue_cap = -1;
  std::uint64_t epoch = 1;
};

class Scheduler {
 public:
  Scheduler(const SchedulerConfig& config, std::unique_ptr<Policy> policy);

  // --- events ---
  WorkerId on_worker_joined(Time now, const WorkerSpec& spec);
  // The worker is gone: its queued and running tasks are queued again elsewhere.
  void on_worker_left(Time now, WorkerId w);
  // REQUIRES: the parents of each task come before it in spec.tasks.
  JobId on_job_submitted(Time now, const JobSpec& spec);
  void on_job_cancelled(Time now, JobId job);
  void on_task_started(Time now, TaskId task, WorkerId w);
  // `started_at` is when the worker started the task; a worker that did not report the
  // start separately reports it here. A report for a task no longer assigned to `w` (it
  // was moved or already finished) is ignored: completions are recorded exactly once.
  void on_task_finished(Time now, TaskId task, WorkerId w, Time started_at);
  // The attempt failed; the task is queued again.
  void on_task_failed(Time now, TaskId task, WorkerId w);
  void on_tick(Time now);

  // --- commands ---
  // Moves the commands emitted so far into `out` (which is cleared first).
  void take_commands(std::vector<Command>& out);
  // When the scheduler next wants on_tick, or kNever.
  Time next_wakeup() const { return kNever; }

  const TaskTable& table() const { return table_; }
  const ClusterState& cluster() const { return cluster_; }
  const Policy& policy() const { return *policy_; }
  std::uint64_t tasks_unfinished() const { return unfinished_; }
  std::uint64_t tasks_retried() const { return retried_; }

 private:
  void make_ready(Time now, TaskId t);
  void place_pending(Time now);
  void dispatch(Time now, TaskId t, WorkerId w);
  // Takes t off its worker's queue or running list. Returns false if it was not there.
  bool detach_from_worker(TaskId t, WorkerId w);
  void requeue(TaskId t);
  void worker_changed(WorkerId w);

  SchedulerConfig config_;
  std::unique_ptr<Policy> policy_;
  Rng rng_;
  TaskTable table_;
  ClusterState cluster_;
  std::deque<TaskId> pending_;
  std::vector<Command> commands_;
  std::uint64_t unfinished_ = 0;
  std::uint64_t retried_ = 0;
  Time last_now_ = 0;
};

}  // namespace fulcrum
