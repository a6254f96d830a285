#include "core/scheduler.h"

#include <algorithm>
#include <cassert>

namespace fulcrum {

std::string_view to_string(TaskState state) {
  switch (state) {
    case TaskState::kBlocked: return "blocked";
    case TaskState::kPending: return "pending";
    case TaskState::kQueued: return "queued";
    case TaskState::kRunning: return "running";
    case TaskState::kFinished: return "finished";
    case TaskState::kFailed: return "failed";
    case TaskState::kCancelled: return "cancelled";
  }
  return "?";
}

Scheduler::Scheduler(const SchedulerConfig& config, std::unique_ptr<Policy> policy)
    : config_(config), policy_(std::move(policy)), rng_(config.seed, /*stream=*/2),
      cluster_(config.queue_cap) {}

WorkerId Scheduler::on_worker_joined(Time now, const WorkerSpec& spec, const std::vector<TaskId>& claimed) {
  last_now_ = now;
  const WorkerId w = cluster_.add(spec);
  policy_->on_worker_changed(cluster_, w);
  for (TaskId t : claimed) {
    const bool ours = t < table_.tasks.size() && table_.tasks[t].state == TaskState::kPending;
    if (ours) {
      attach_running(now, t, w);
    } else {
      commands_.push_back({Command::Kind::kCancel, t, w, 0, config_.epoch});
    }
  }
  if (!claimed.empty()) worker_changed(w);
  place_pending(now);
  return w;
}

void Scheduler::on_worker_left(Time now, WorkerId w) {
  last_now_ = now;
  Worker& worker = cluster_.mutable_worker(w);
  if (!worker.alive) return;
  worker.alive = false;
  std::vector<TaskId> lost(worker.running.begin(), worker.running.end());
  lost.insert(lost.end(), worker.queue.begin(), worker.queue.end());
  worker.running.clear();
  worker.queue.clear();
  worker.in_system = 0;
  worker_changed(w);
  // requeue() pushes to the front: go backwards so that the lost tasks keep their order.
  for (auto it = lost.rbegin(); it != lost.rend(); ++it) requeue(*it);
  place_pending(now);
}

JobId Scheduler::on_job_submitted(Time now, const JobSpec& spec) {
  last_now_ = now;
  const JobId job_id = table_.jobs.size();
  const TaskId first = table_.tasks.size();
  Job job;
  job.id = job_id;
  job.submit = now;
  job.first_task = first;
  job.task_count = static_cast<std::uint32_t>(spec.tasks.size());
  job.unfinished = job.task_count;
  table_.jobs.push_back(job);
  for (std::size_t i = 0; i < spec.tasks.size(); ++i) {
    Task task;
    task.id = first + i;
    task.job = job_id;
    task.flops = spec.tasks[i].flops;
    task.submit = now;
    task.unfinished_parents = static_cast<std::uint32_t>(spec.tasks[i].parents.size());
    for (std::uint32_t p : spec.tasks[i].parents) {
      assert(p < i && "parents must precede their children");
      table_.tasks[first + p].children.push_back(task.id);
    }
    table_.tasks.push_back(std::move(task));
  }
  unfinished_ += spec.tasks.size();
  for (std::size_t i = 0; i < spec.tasks.size(); ++i) {
    if (table_.tasks[first + i].unfinished_parents == 0) make_ready(now, first + i);
  }
  return job_id;
}

void Scheduler::on_job_cancelled(Time now, JobId job_id) {
  last_now_ = now;
  const Job& job = table_.jobs.at(job_id);
  for (TaskId t = job.first_task; t < job.first_task + job.task_count; ++t) {
    Task& task = table_.tasks[t];
    if (is_terminal(task.state)) continue;
    if (task.state == TaskState::kQueued || task.state == TaskState::kRunning) {
      detach_from_worker(t, task.worker);
      commands_.push_back({Command::Kind::kCancel, t, task.worker, task.flops, config_.epoch});
      worker_changed(task.worker);
    }
    // A pending task stays in pending_ and is skipped there: it is no longer kPending.
    task.state = TaskState::kCancelled;
    task.end = now;
    --unfinished_;
    --table_.jobs[job_id].unfinished;
  }
  place_pending(now);
}

void Scheduler::on_task_started(Time now, TaskId t, WorkerId w) {
  last_now_ = now;
  if (t >= table_.tasks.size()) return;
  Task& task = table_.tasks[t];
  if (task.state != TaskState::kQueued || task.worker != w) return;
  Worker& worker = cluster_.mutable_worker(w);
  // The worker runs its queue in FIFO order, so the task is almost always at the front.
  auto it = std::find(worker.queue.begin(), worker.queue.end(), t);
  if (it == worker.queue.end()) return;
  worker.queue.erase(it);
  worker.running.push_back(t);
  task.state = TaskState::kRunning;
  task.start = now;
}

void Scheduler::on_task_finished(Time now, TaskId t, WorkerId w, Time started_at) {
  last_now_ = now;
  if (t >= table_.tasks.size()) return;
  Task& task = table_.tasks[t];
  if (task.worker != w || (task.state != TaskState::kQueued && task.state != TaskState::kRunning)) {
    return;  // stale: reassigned, cancelled or already recorded
  }
  detach_from_worker(t, w);
  Worker& worker = cluster_.mutable_worker(w);
  task.start = started_at;
  ++worker.completed;
  worker.busy_time += now - started_at;
  worker_changed(w);
  finish(now, t, TaskState::kFinished);
  place_pending(now);
}

bool Scheduler::failure_is_final(TaskId t) const {
  return t < table_.tasks.size() && table_.tasks[t].attempts >= config_.max_attempts;
}

void Scheduler::on_task_failed(Time now, TaskId t, WorkerId w) {
  last_now_ = now;
  if (t >= table_.tasks.size()) return;
  Task& task = table_.tasks[t];
  if (task.worker != w || is_terminal(task.state) || !detach_from_worker(t, w)) return;
  worker_changed(w);
  if (failure_is_final(t)) {
    finish(now, t, TaskState::kFailed);
  } else {
    requeue(t);
  }
  place_pending(now);
}

void Scheduler::on_tick(Time now) {
  last_now_ = now;
  place_pending(now);
}

void Scheduler::restore_finished(TaskId t, Time start, Time end, std::uint32_t attempts) {
  assert(t < table_.tasks.size() && !is_terminal(table_.tasks[t].state));
  table_.tasks[t].start = start;
  table_.tasks[t].attempts = attempts;
  finish(end, t, TaskState::kFinished);
}

void Scheduler::restore_failed(TaskId t, Time end, std::uint32_t attempts) {
  assert(t < table_.tasks.size() && !is_terminal(table_.tasks[t].state));
  table_.tasks[t].attempts = attempts;
  finish(end, t, TaskState::kFailed);
}

void Scheduler::begin_recovery(Time now, Time grace) {
  last_now_ = now;
  hold_until_ = now + grace;
}

void Scheduler::take_commands(std::vector<Command>& out) {
  out.clear();
  out.swap(commands_);
}

void Scheduler::finish(Time now, TaskId t, TaskState final_state) {
  Task& task = table_.tasks[t];
  task.state = final_state;
  task.end = now;
  --unfinished_;
  --table_.jobs[task.job].unfinished;
  if (final_state != TaskState::kFinished) return;
  for (TaskId child : task.children) {
    if (--table_.tasks[child].unfinished_parents == 0) make_ready(now, child);
  }
}

void Scheduler::attach_running(Time now, TaskId t, WorkerId w) {
  Task& task = table_.tasks[t];
  Worker& worker = cluster_.mutable_worker(w);
  task.state = TaskState::kRunning;
  task.worker = w;
  task.start = now;
  ++task.attempts;
  worker.running.push_back(t);
  ++worker.in_system;
}

void Scheduler::make_ready(Time now, TaskId t) {
  table_.tasks[t].state = TaskState::kPending;
  pending_.push_back(t);
  place_pending(now);
}

void Scheduler::place_pending(Time now) {
  if (hold_until_ > now) return;
  while (!pending_.empty()) {
    const TaskId t = pending_.front();
    // Entries of tasks that left the pending state (cancelled, claimed, restored) are
    // dropped here rather than searched for when they leave.
    if (table_.tasks[t].state != TaskState::kPending) {
      pending_.pop_front();
      continue;
    }
    if (cluster_.eligible().empty()) return;
    const std::optional<WorkerId> w = policy_->pick(cluster_, table_.tasks[t], rng_);
    if (!w) return;
    assert(cluster_.is_eligible(*w) && "policy picked an ineligible worker");
    pending_.pop_front();
    dispatch(now, t, *w);
  }
}

void Scheduler::dispatch(Time now, TaskId t, WorkerId w) {
  Task& task = table_.tasks[t];
  Worker& worker = cluster_.mutable_worker(w);
  task.state = TaskState::kQueued;
  task.worker = w;
  task.dispatched = now;
  ++task.attempts;
  worker.queue.push_back(t);
  ++worker.in_system;
  worker_changed(w);
  commands_.push_back({Command::Kind::kDispatch, t, w, task.flops, config_.epoch});
}

bool Scheduler::detach_from_worker(TaskId t, WorkerId w) {
  Worker& worker = cluster_.mutable_worker(w);
  if (auto it = std::find(worker.running.begin(), worker.running.end(), t); it != worker.running.end()) {
    *it = worker.running.back();
    worker.running.pop_back();
  } else if (auto q = std::find(worker.queue.begin(), worker.queue.end(), t); q != worker.queue.end()) {
    worker.queue.erase(q);
  } else {
    return false;
  }
  --worker.in_system;
  return true;
}

void Scheduler::requeue(TaskId t) {
  Task& task = table_.tasks[t];
  task.state = TaskState::kPending;
  task.start = -1;
  ++retried_;
  // A task that lost its place goes to the head of the central queue: it was accepted
  // before everything that is waiting now.
  pending_.push_front(t);
}

void Scheduler::worker_changed(WorkerId w) {
  cluster_.refresh(w);
  policy_->on_worker_changed(cluster_, w);
}

}  // namespace fulcrum
