#include "core/tests/rigid_replay.h"

#include <map>
#include <stdexcept>

#include "policies/registry.h"

namespace fulcrum::testing {

std::vector<RigidStart> replay_rigid(const std::vector<RigidJob>& jobs, std::uint32_t hosts, int cores,
                                     SchedulerConfig config, const std::string& policy) {
  config.queue_cap = 0;
  config.pass_per_instant = true;
  auto made = make_policy(policy);
  if (!made) throw std::runtime_error(made.error());
  Scheduler core(config, std::move(*made));
  for (std::uint32_t h = 0; h < hosts; ++h) {
    WorkerSpec spec{"h" + std::to_string(h), "g", 1.0, cores, 0};
    core.on_worker_joined(0, spec);
  }
  core.on_instant_end(0);
  std::vector<RigidStart> out(jobs.size());
  std::vector<JobId> job_of_task;                  // task -> index in jobs
  std::multimap<Time, std::pair<TaskId, WorkerId>> ends;  // completions to come
  std::vector<Command> commands;
  std::size_t next = 0;
  while (next < jobs.size() || !ends.empty()) {
    const Time now = std::min(next < jobs.size() ? jobs[next].submit : kNever,
                              ends.empty() ? kNever : ends.begin()->first);
    while (!ends.empty() && ends.begin()->first == now) {
      const auto [task, worker] = ends.begin()->second;
      ends.erase(ends.begin());
      core.on_task_finished(now, task, worker, core.table().tasks[task].start);
    }
    while (next < jobs.size() && jobs[next].submit == now) {
      const RigidJob& j = jobs[next];
      JobSpec spec;
      spec.gang = j.width > 1;
      spec.tasks.assign(j.width, TaskSpec{j.runtime, {}});
      for (TaskSpec& t : spec.tasks) t.estimate = j.estimate;
      core.on_job_submitted(now, spec);
      job_of_task.resize(core.table().tasks.size(), next);
      ++next;
    }
    core.on_instant_end(now);
    core.take_commands(commands);
    for (const Command& c : commands) {
      if (c.kind != Command::Kind::kDispatch) continue;
      core.on_task_started(now, c.task, c.worker);
      const JobId j = job_of_task[c.task];
      const double runtime = jobs[j].runtime;
      if (out[j].start >= 0 && out[j].start != now) throw std::runtime_error("a gang started in parts");
      out[j] = {now, now + runtime};
      ends.emplace(now + runtime, std::make_pair(c.task, c.worker));
    }
    if (next == jobs.size() && ends.empty() && core.tasks_unfinished() > 0) {
      throw std::runtime_error(std::to_string(core.tasks_unfinished()) + " tasks never started");
    }
  }
  return out;
}

}  // namespace fulcrum::testing
