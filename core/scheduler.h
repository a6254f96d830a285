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
  // A task whose attempt fails when it has been dispatched this many times fails for good.
  std::uint32_t max_attempts = 3;
};

class Scheduler {
 public:
  Scheduler(const SchedulerConfig& config, std::unique_ptr<Policy> policy);

  // --- events ---
  // `claimed`: tasks the worker says it still runs (it reconnected after a scheduler
  // failover). A claimed task that is not finished and not placed elsewhere becomes the
  // worker's running task; any other claim gets a Cancel command back.
  WorkerId on_worker_joined(Time now, const WorkerSpec& spec, const std::vector<TaskId>& claimed = {});
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
  // The attempt failed; the task is queued again, or fails for good when
  // failure_is_final(task). A report for a task no longer assigned to `w` is ignored.
  void on_task_failed(Time now, TaskId task, WorkerId w);
  // Whether a failure of `task`'s current attempt would be final (drivers journal it first).
  bool failure_is_final(TaskId task) const;
  void on_tick(Time now);

  // --- recovery: rebuilding a scheduler from its journal ---
  // Replays a completion recorded before a crash (REQUIRES: the task was submitted and is
  // not terminal). Its children become ready as usual.
  void restore_finished(TaskId task, Time start, Time end, std::uint32_t attempts);
  void restore_failed(TaskId task, Time end, std::uint32_t attempts);
  // Holds every dispatch until now + grace, so that reconnecting workers can claim the
  // tasks they still run before anything is dispatched twice. next_wakeup() asks for a
  // tick at the end of the grace period.
  void begin_recovery(Time now, Time grace);
  bool recovering() const { return hold_until_ > last_now_; }

  // --- commands ---
  // Moves the commands emitted so far into `out` (which is cleared first).
  void take_commands(std::vector<Command>& out);
  // When the scheduler next wants on_tick, or kNever.
  Time next_wakeup() const { return hold_until_ > last_now_ ? hold_until_ : kNever; }

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
  void finish(Time now, TaskId t, TaskState final_state);
  void attach_running(Time now, TaskId t, WorkerId w);
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
  Time hold_until_ = -1;
};

}  // namespace fulcrum
