// The durable events of a scheduler — what must survive its crash — and the replay that
// rebuilds a scheduler from them. Both drivers use this one path: the real daemon reads
// the records from its journal file (real/journal.h), the simulator keeps them in memory
// and replays them when it models a leader failover.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/scheduler.h"
#include "core/task_desc.h"

namespace fulcrum {

struct JobAccepted {
  std::uint64_t job = 0;
  double submit = 0;
  std::vector<TaskDesc> tasks;
  // The client's name for its submission ("" none): a client that lost the reply (a
  // failover) sends the job again under the same name and gets the same task ids back.
  std::string request_id;

  bool operator==(const JobAccepted&) const = default;
};

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

// The task failed for good (retries exhausted); attempts that will be retried are not
// journaled, since a restart re-runs unfinished tasks anyway.
struct TaskFailed {
  std::uint64_t task = 0;
  double end = 0;
  std::uint32_t attempts = 0;
  TaskOutcome outcome;

  bool operator==(const TaskFailed&) const = default;
};

struct JobCancelled {
  std::uint64_t job = 0;
  double time = 0;

  bool operator==(const JobCancelled&) const = default;
};

using JournalRecord = std::variant<JobAccepted, TaskFinished, TaskFailed, JobCancelled>;

// What a driver keeps beside the core, indexed by TaskId, rebuilt by replay too.
struct DurableState {
  std::vector<TaskDesc> descs;
  std::vector<TaskOutcome> outcomes;
  std::vector<std::string> finished_on;  // worker name of a restored completion, else ""
  struct Accepted {
    std::uint64_t job = 0;
    std::uint64_t first_task = 0;
    std::uint32_t count = 0;
  };
  std::map<std::string, Accepted> submissions;  // by JobAccepted::request_id
};

// Applies one record, in journal order, to a scheduler that has seen the records before
// it. Tolerant of what a crash can leave behind: a second completion of a task is
// ignored, and so are records naming tasks or jobs it does not know.
void replay_record(Scheduler& core, const JournalRecord& record, DurableState& state);

// The core's job description of a journaled job.
JobSpec job_spec(const std::vector<TaskDesc>& tasks);

}  // namespace fulcrum
