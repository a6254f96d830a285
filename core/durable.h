// The durable events of a scheduler — what must survive its crash — and the replay that
// rebuilds a scheduler from them. Both drivers use this one path: the real daemon reads
// the records from its journal file (real/journal.h), the simulator keeps them in memory
// and replays them when it models a leader failover.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/scheduler.h"
#include "core/job_spec.h"

namespace fulcrum {

struct JobAccepted {
  std::uint64_t job = 0;
  double submit = 0;
  JobSpec spec;
  // The client's name for its submission ("" none): a client that lost the reply (a
  // failover) sends the job again under the same name and gets the same task ids back.
  std::string request_id;

  bool operator==(const JobAccepted&) const = default;
};

template <class V> void fields(V& v, JobAccepted& r) {
  v.field("job", r.job);
  v.field("submit", r.submit);
  v.field("spec", r.spec);
  v.field("request_id", r.request_id);
}

// The task finished successfully; it will not run again.
struct TaskFinished {
  std::uint64_t task = 0;
  double start = 0;
  double end = 0;
  std::string worker;
  std::uint32_t attempts = 0;
  TaskOutcome outcome;

  bool operator==(const TaskFinished&) const = default;
};

template <class V> void fields(V& v, TaskFinished& r) {
  v.field("task", r.task);
  v.field("start", r.start);
  v.field("end", r.end);
  v.field("worker", r.worker);
  v.field("attempts", r.attempts);
  v.field("outcome", r.outcome);
}

// The task failed for good (retries exhausted); attempts that will be retried are not
// journaled, since a restart re-runs unfinished tasks anyway.
struct TaskFailed {
  std::uint64_t task = 0;
  double end = 0;
  std::uint32_t attempts = 0;
  TaskOutcome outcome;
  double start = -1;  // of the last attempt, -1 if it never started

  bool operator==(const TaskFailed&) const = default;
};

template <class V> void fields(V& v, TaskFailed& r) {
  v.field("task", r.task);
  v.field("end", r.end);
  v.field("attempts", r.attempts);
  v.field("outcome", r.outcome);
  v.field("start", r.start);
}

struct JobCancelled {
  std::uint64_t job = 0;
  double time = 0;
  // Per task of the job, as the core had them when the job was cancelled: dispatches so
  // far and the start of the last attempt (-1 none), so that a replay restores them.
  std::vector<std::uint32_t> attempts;
  std::vector<double> starts;

  bool operator==(const JobCancelled&) const = default;
};

template <class V> void fields(V& v, JobCancelled& r) {
  v.field("job", r.job);
  v.field("time", r.time);
  v.field("attempts", r.attempts);
  v.field("starts", r.starts);
}

// The plan made for a job when it was submitted (core/policy.h, JobPlan), journaled after
// the job when it says more than the job's own priorities: a new leader replays the job
// with no workers yet, so it could not plan it the same way again.
struct JobPlanned {
  std::uint64_t job = 0;
  JobPlan plan;

  bool operator==(const JobPlanned&) const = default;
};

template <class V> void fields(V& v, JobPlan& p) {
  v.field("priorities", p.priorities);
  v.field("workers", p.workers);
}
template <class V> void fields(V& v, JobPlanned& r) {
  v.field("job", r.job);
  v.field("plan", r.plan);
}

using JournalRecord = std::variant<JobAccepted, TaskFinished, TaskFailed, JobCancelled, JobPlanned>;

// What a driver keeps beside the core, indexed by TaskId, rebuilt by replay too.
struct DurableState {
  std::vector<TaskSpec> specs;  // parents as indices into their job, as submitted
  std::vector<TaskOutcome> outcomes;
  std::vector<std::string> finished_on;  // worker name of a restored completion, else ""
  struct Accepted {
    std::uint64_t job = 0;
    std::uint64_t first_task = 0;
    std::uint32_t count = 0;
  };
  std::map<std::string, Accepted> submissions;  // by JobAccepted::request_id
};

// The record of the plan the core made for `job`, the job submitted last with `spec`, or
// nullopt when the plan is only the spec's own priorities (nothing to keep).
std::optional<JobPlanned> plan_record(const Scheduler& core, JobId job, const JobSpec& spec);

// The record of cancelling `job` now, with what a replay needs to restore its tasks.
JobCancelled cancel_record(const Scheduler& core, JobId job, Time now);

// Applies one record, in journal order, to a scheduler that has seen the records before
// it. Tolerant of what a crash can leave behind: a second completion of a task is
// ignored, and so are records naming tasks or jobs it does not know.
void replay_record(Scheduler& core, const JournalRecord& record, DurableState& state);

}  // namespace fulcrum
