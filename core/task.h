// Tasks and jobs as the core sees them, and the task table that owns them.
//
// A job is a set of tasks; a task's `unfinished_parents` and `children` make room for DAG
// jobs (a task is ready when it has no unfinished parent). TaskIds are dense indices into
// the TaskTable, assigned in submission order, so a table row is found in O(1).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/job_spec.h"
#include "core/types.h"

namespace fulcrum {

enum class TaskState : std::uint8_t {
  kBlocked,    // waits for parents
  kPending,    // ready, waits in the central queue for a worker
  kQueued,     // dispatched, waits in a worker's local FIFO
  kRunning,    // the worker reported it started
  kFinished,
  kFailed,     // failed for good
  kCancelled,
  kBackoff,    // an attempt failed; waits out its retry backoff (core/retry_backoff.h)
};

std::string_view to_string(TaskState state);
inline bool is_terminal(TaskState s) {
  return s == TaskState::kFinished || s == TaskState::kFailed || s == TaskState::kCancelled;
}

struct Task {
  TaskId id = 0;
  JobId job = 0;
  double flops = 0;
  TaskState state = TaskState::kBlocked;
  double priority = 0;
  WorkerId worker = kNoWorker;   // current or last assignment
  std::uint32_t attempts = 0;    // dispatches so far (a preempted one not counted)
  std::uint32_t preemptions = 0;  // times it was stopped to make room for other work
  std::uint32_t unfinished_parents = 0;
  std::uint32_t shape = 0;       // its placement needs (ClusterState::shape_of)
  double estimate = 0;           // the submitter's run-time estimate, seconds; 0 unknown
  std::vector<TaskId> children;
  Time submit = 0;
  Time dispatched = -1;  // when the last attempt was dispatched
  Time start = -1;  // start of the last attempt, -1 if never started
  Time end = -1;    // when it reached a terminal state
};

struct Job {
  JobId id = 0;
  Time submit = 0;
  TaskId first_task = 0;  // a job's tasks have consecutive ids
  std::uint32_t task_count = 0;
  std::uint32_t unfinished = 0;
  bool gang = false;  // its tasks start together or not at all (JobSpec::gang)
  std::string tenant;                 // JobSpec::tenant
  std::uint32_t tenant_id = 0;        // the scheduler's TenantLedger id of it
  std::int32_t priority_class = 0;    // JobSpec::priority_class
};

struct TaskTable {
  std::vector<Task> tasks;
  std::vector<Job> jobs;
};

}  // namespace fulcrum
