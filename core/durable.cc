#include "core/durable.h"

namespace fulcrum {

JobSpec job_spec(const std::vector<TaskDesc>& tasks) {
  JobSpec spec;
  for (const TaskDesc& d : tasks) spec.tasks.push_back(TaskSpec{d.flops, d.parents});
  return spec;
}

void replay_record(Scheduler& core, const JournalRecord& record, DurableState& state) {
  const auto& table = core.table();
  auto known_open = [&](std::uint64_t t) { return t < table.tasks.size() && !is_terminal(table.tasks[t].state); };
  if (const auto* job = std::get_if<JobAccepted>(&record)) {
    if (!job->request_id.empty()) {
      state.submissions[job->request_id] = {table.jobs.size(), table.tasks.size(),
                                            static_cast<std::uint32_t>(job->tasks.size())};
    }
    core.on_job_submitted(job->submit, job_spec(job->tasks));
    state.descs.insert(state.descs.end(), job->tasks.begin(), job->tasks.end());
    state.outcomes.resize(state.descs.size());
    state.finished_on.resize(state.descs.size());
  } else if (const auto* done = std::get_if<TaskFinished>(&record)) {
    if (!known_open(done->task)) return;
    core.restore_finished(done->task, done->start, done->end, done->attempts);
    state.outcomes[done->task] = done->outcome;
    state.finished_on[done->task] = done->worker;
  } else if (const auto* failed = std::get_if<TaskFailed>(&record)) {
    if (!known_open(failed->task)) return;
    core.restore_failed(failed->task, failed->end, failed->attempts);
    state.outcomes[failed->task] = failed->outcome;
  } else if (const auto* cancelled = std::get_if<JobCancelled>(&record)) {
    if (cancelled->job < table.jobs.size()) core.on_job_cancelled(cancelled->time, cancelled->job);
  }
}

}  // namespace fulcrum
