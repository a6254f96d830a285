#include "core/durable.h"

namespace fulcrum {

std::optional<JobPlanned> plan_record(const Scheduler& core, JobId job, const JobSpec& spec) {
  const JobPlan& plan = core.last_plan();
  bool same = plan.workers.empty() && plan.priorities.size() == spec.tasks.size();
  for (std::size_t i = 0; same && i < spec.tasks.size(); ++i) same = plan.priorities[i] == spec.tasks[i].priority;
  if (same) return std::nullopt;
  return JobPlanned{job, plan};
}

JobCancelled cancel_record(const Scheduler& core, JobId job, Time now) {
  JobCancelled r{job, now};
  const Job& j = core.table().jobs.at(job);
  for (TaskId t = j.first_task; t < j.first_task + j.task_count; ++t) {
    r.attempts.push_back(core.table().tasks[t].attempts);
    r.starts.push_back(core.table().tasks[t].start);
  }
  return r;
}

void replay_record(Scheduler& core, const JournalRecord& record, DurableState& state) {
  const auto& table = core.table();
  auto known_open = [&](std::uint64_t t) { return t < table.tasks.size() && !is_terminal(table.tasks[t].state); };
  if (const auto* job = std::get_if<JobAccepted>(&record)) {
    if (!job->request_id.empty()) {
      state.submissions[job->request_id] = {table.jobs.size(), table.tasks.size(),
                                            static_cast<std::uint32_t>(job->spec.tasks.size())};
    }
    core.on_job_submitted(job->submit, job->spec);
    state.specs.insert(state.specs.end(), job->spec.tasks.begin(), job->spec.tasks.end());
    state.outcomes.resize(state.specs.size());
    state.finished_on.resize(state.specs.size());
  } else if (const auto* done = std::get_if<TaskFinished>(&record)) {
    if (!known_open(done->task)) return;
    core.restore_finished(done->task, done->start, done->end, done->attempts);
    state.outcomes[done->task] = done->outcome;
    state.finished_on[done->task] = done->worker;
  } else if (const auto* failed = std::get_if<TaskFailed>(&record)) {
    if (!known_open(failed->task)) return;
    core.restore_failed(failed->task, failed->start, failed->end, failed->attempts);
    state.outcomes[failed->task] = failed->outcome;
  } else if (const auto* planned = std::get_if<JobPlanned>(&record)) {
    if (planned->job < table.jobs.size()) core.restore_plan(planned->job, planned->plan);
  } else if (const auto* cancelled = std::get_if<JobCancelled>(&record)) {
    if (cancelled->job >= table.jobs.size()) return;
    const Job& job = table.jobs[cancelled->job];
    for (std::uint32_t i = 0; i < job.task_count && i < cancelled->attempts.size() && i < cancelled->starts.size(); ++i) {
      if (known_open(job.first_task + i)) {
        core.restore_attempts(job.first_task + i, cancelled->attempts[i], cancelled->starts[i]);
      }
    }
    core.on_job_cancelled(cancelled->time, cancelled->job);
  }
}

}  // namespace fulcrum
