// The scheduler's rigid jobs and backfilling (docs/backfilling.md): a gang is placed all
// at once or not at all, and stopped and queued again as a whole; EASY and conservative
// backfilling decide which waiting unit (a gang, or a single task) may start now from a
// profile of the capacity that running work will free (core/profile.h).
#include <algorithm>
#include <cassert>
#include <cmath>
#include <sstream>

#include "core/scheduler.h"

namespace fulcrum {

TaskId Scheduler::gang_leader(const Job& job) const {
  TaskId m = job.first_task;
  while (m + 1 < job.first_task + job.task_count && is_terminal(table_.tasks[m].state)) ++m;
  return m;
}

// The gang's members that have not ended are placed all at once (a member that finished
// before another failed is not run again: its result is recorded once).
bool Scheduler::place_gang(Time now, const Job& job) {
  const TaskId first = job.first_task;
  const TaskId end = first + job.task_count;
  // After a failover a worker may claim one member while the others wait: a gang never
  // runs in part, so the claimed ones are stopped and the gang starts anew.
  bool all_pending = true;
  for (TaskId m = first; m < end; ++m) {
    const TaskState st = table_.tasks[m].state;
    if (st == TaskState::kFinished) continue;
    if (st != TaskState::kPending) all_pending = false;
    if (is_terminal(st) || st == TaskState::kBlocked || st == TaskState::kBackoff) return false;
  }
  if (!all_pending) {
    for (TaskId m = first; m < end; ++m) {
      Task& task = table_.tasks[m];
      if (task.state != TaskState::kQueued && task.state != TaskState::kRunning) continue;
      detach_from_worker(m, task.worker);
      commands_.push_back({Command::Kind::kCancel, m, task.worker, task.flops, config_.epoch});
      worker_changed(task.worker);
      task.start = -1;
      set_state(now, m, TaskState::kPending);
    }
  }
  std::vector<std::pair<TaskId, WorkerId>> placed;
  placed.reserve(job.task_count);
  for (TaskId m = first; m < end; ++m) {
    const Task& task = table_.tasks[m];
    if (task.state == TaskState::kFinished) continue;
    cluster_.set_shape(task.shape);
    std::optional<WorkerId> w;
    if (!cluster_.eligible().empty()) w = policy_->pick(cluster_, task, rng_);
    if (w && cluster_.needs(task.shape).spread != Spread::kNone) w = spread_pick(task, *w);
    if (!w) {
      // Not all at once: nothing. Undone in reverse, so each worker's queue is as it was.
      for (auto it = placed.rbegin(); it != placed.rend(); ++it) {
        detach_from_worker(it->first, it->second);
        worker_changed(it->second);
      }
      return false;
    }
    assert(cluster_.is_eligible(*w) && "policy picked an ineligible worker");
    occupy(m, *w);
    placed.emplace_back(m, *w);
  }
  for (const auto& [m, w] : placed) send_dispatch(now, m, w);
  return true;
}

void Scheduler::stop_gang(Time now, JobId job_id, bool final) {
  const Job& job = table_.jobs[job_id];
  for (TaskId m = job.first_task; m < job.first_task + job.task_count; ++m) {
    Task& task = table_.tasks[m];
    if (task.state == TaskState::kQueued || task.state == TaskState::kRunning) {
      if (detach_from_worker(m, task.worker)) {
        if (task.start >= 0) wasted_ += now - task.start;
        commands_.push_back({Command::Kind::kCancel, m, task.worker, task.flops, config_.epoch});
        worker_changed(task.worker);
      }
    }
  }
  // A member that already finished stays finished (its result is recorded once); the
  // others run again together, or fail together.
  for (TaskId m = job.first_task; m < job.first_task + job.task_count; ++m) {
    Task& task = table_.tasks[m];
    if (is_terminal(task.state) || task.state == TaskState::kPending) continue;
    if (final) {
      set_state(now, m, TaskState::kFailed);
    } else {
      task.start = -1;
      set_state(now, m, TaskState::kPending);
    }
  }
  if (!final) ++retried_;
}

double Scheduler::estimate_of(const Task& task, WorkerId w) const {
  if (!config_.exact_estimates && task.estimate > 0) return task.estimate;
  const double speed = w != kNoWorker ? cluster_.worker(w).spec.speed : fastest_speed_;
  return speed > 0 ? task.flops / speed : 0;
}

double Scheduler::unit_estimate(TaskId t) const {
  const Task& task = table_.tasks[t];
  const Job& job = table_.jobs[task.job];
  if (!job.gang) return estimate_of(task, kNoWorker);
  double longest = 0;
  for (TaskId m = job.first_task; m < job.first_task + job.task_count; ++m) {
    if (table_.tasks[m].state != TaskState::kFinished) longest = std::max(longest, estimate_of(table_.tasks[m], kNoWorker));
  }
  return longest;
}

Profile::Amounts Scheduler::unit_need(TaskId t) const {
  const Task& task = table_.tasks[t];
  const Job& job = table_.jobs[task.job];
  Profile::Amounts need(cluster_.dimensions().size(), 0.0);
  const auto add = [&](const Task& member) {
    const std::vector<double>& r = cluster_.request(member.shape);
    for (std::size_t k = 0; k < r.size(); ++k) need[k] += r[k];
  };
  if (!job.gang) {
    add(task);
  } else {
    for (TaskId m = job.first_task; m < job.first_task + job.task_count; ++m) {
      if (table_.tasks[m].state != TaskState::kFinished) add(table_.tasks[m]);
    }
  }
  return need;
}

// What is free now, pooled over the workers in service, and when each task they hold is
// estimated to end (its start, or its dispatch while it has not started, plus its
// estimate; one that overran its estimate is taken to end now).
void Scheduler::build_profile(Time now) {
  const std::size_t dims = cluster_.dimensions().size();
  Profile::Amounts free(dims, 0.0);
  std::vector<std::pair<Time, Profile::Amounts>> releases;
  for (WorkerId w = 0; w < cluster_.size(); ++w) {
    if (!cluster_.in_service(w)) continue;
    const Worker& worker = cluster_.worker(w);
    for (std::size_t k = 0; k < dims && k < worker.free.size(); ++k) free[k] += std::max(0.0, worker.free[k]);
    const auto release = [&](TaskId t) {
      const Task& task = table_.tasks[t];
      const Time began = task.start >= 0 ? task.start : task.dispatched;
      Profile::Amounts amounts(dims, 0.0);
      const std::vector<double>& r = cluster_.request(task.shape);
      std::copy(r.begin(), r.end(), amounts.begin());
      releases.emplace_back(std::max(now, began + estimate_of(task, w)), std::move(amounts));
    };
    for (const TaskId t : worker.running) release(t);
    for (const TaskId t : worker.queue) release(t);
  }
  profile_.reset(now, std::move(free), std::move(releases));
}

// One pass in queue order. EASY: units start while they can; the first that cannot (the
// head) gets a reservation at its shadow time, the earliest estimated instant at which
// enough is free; a later unit may start now only if its estimated end is at or before
// the shadow time, or it needs no more than what is left over at the shadow time once
// the head has its share (the extra), which it then uses up. Conservative: every unit,
// in order, is given the earliest start at which it fits the profile for its whole
// estimate, and that share is taken out of the profile; a unit whose start is now
// starts. Reservations are rebuilt at every pass (no compression step is needed).
void Scheduler::backfill_pass(Time now) {
  queue_->new_pass();
  bool profiled = false;
  bool head_blocked = false;
  Time shadow = kNever;
  Profile::Amounts extra;
  const bool easy = config_.backfill == SchedulerConfig::Backfill::kEasy;
  while (queue_->has_front()) {
    const TaskId t = queue_->front();
    if (table_.tasks[t].state != TaskState::kPending) {
      queue_->pop_front();
      continue;
    }
    if (!profiled) {
      build_profile(now);
      profiled = true;
    }
    const Profile::Amounts need = unit_need(t);
    const double estimate = unit_estimate(t);
    if (easy) {
      if (!head_blocked) {
        if (place_unit(now, t)) {
          queue_->pop_front();
          profile_.take(now, estimate, need);
          continue;
        }
        head_blocked = true;
        shadow = profile_.earliest(need, 0);
        extra = std::isfinite(shadow) ? profile_.free_at(shadow) : Profile::Amounts(need.size(), 0.0);
        for (std::size_t k = 0; k < extra.size() && k < need.size(); ++k) extra[k] -= need[k];
        queue_->skip_front();
        continue;
      }
      const bool ends_before_shadow = now + estimate <= shadow;
      if (!ends_before_shadow && !Profile::fits(need, extra)) {
        queue_->skip_front();
        continue;
      }
      if (!place_unit(now, t)) {
        queue_->skip_front();
        continue;
      }
      queue_->pop_front();
      if (!ends_before_shadow) {
        for (std::size_t k = 0; k < need.size() && k < extra.size(); ++k) extra[k] -= need[k];
      }
      continue;
    }
    // Conservative.
    const Time at = profile_.earliest(need, estimate);
    if (!std::isfinite(at)) {  // more than the cluster in service offers: it waits
      queue_->skip_front();
      continue;
    }
    profile_.take(at, estimate, need);
    if (at <= now && place_unit(now, t)) {
      queue_->pop_front();
    } else {
      queue_->skip_front();
    }
  }
}

std::string Scheduler::gang_misfit(const JobSpec& job) {
  std::vector<ShapeId> shapes;
  for (const TaskSpec& t : job.tasks) shapes.push_back(cluster_.shape_of(t));
  std::vector<const WorkerSpec*> known;
  for (const Worker& w : cluster_.workers()) known.push_back(&w.spec);
  for (const WorkerSpec& spec : config_.described) known.push_back(&spec);
  if (known.empty()) return "";
  // Pooled over the workers each member fits (capacity and labels): the cores (and other
  // amounts) the members ask for in all against what those workers offer in all.
  Resources asked, offered;
  std::vector<bool> counted(known.size(), false);
  for (std::size_t i = 0; i < job.tasks.size(); ++i) {
    const TaskSpec& needs = cluster_.needs(shapes[i]);
    asked.cores += needs.request.cores;
    asked.gpus += needs.request.gpus;
    asked.memory += needs.request.memory;
    for (const auto& [name, amount] : needs.request.other) asked.other[name] += amount;
    for (std::size_t k = 0; k < known.size(); ++k) {
      if (counted[k] || !carries(*known[k], needs.require) || !first_misfit(needs.request, known[k]->capacity()).empty()) {
        continue;
      }
      counted[k] = true;
      const Resources c = known[k]->capacity();
      offered.cores += c.cores;
      offered.gpus += c.gpus;
      offered.memory = offered.memory < 0 || c.memory <= 0 ? -1 : offered.memory + c.memory;  // -1: not limited
      for (const auto& [name, amount] : c.other) offered.other[name] += amount;
    }
  }
  if (offered.memory < 0) offered.memory = 0;  // first_misfit: 0 means not limited
  const std::string dim = first_misfit(asked, offered);
  if (dim.empty()) return "";
  std::ostringstream out;
  const auto amount = [&](const Resources& r) {
    if (dim == "cores") return r.cores;
    if (dim == "memory") return r.memory;
    if (dim == "gpus") return r.gpus;
    const auto it = r.other.find(dim);
    return it == r.other.end() ? 0.0 : it->second;
  };
  out << dim << ": its tasks ask for " << amount(asked) << " in all, the workers they fit have " << amount(offered);
  return out.str();
}

}  // namespace fulcrum
