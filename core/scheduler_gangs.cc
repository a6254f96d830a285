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
  std::vector<std::pair<TaskId, WorkerId>>& placed = gang_placed_;
  placed.clear();
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

void Scheduler::append_unit_need(TaskId t, std::vector<double>& out) const {
  const Task& task = table_.tasks[t];
  const Job& job = table_.jobs[task.job];
  const std::size_t at = out.size();
  out.resize(at + cluster_.dimensions().size(), 0.0);
  const auto add = [&](const Task& member) {
    const std::vector<double>& r = cluster_.request(member.shape);
    for (std::size_t k = 0; k < r.size(); ++k) out[at + k] += r[k];
  };
  if (!job.gang) {
    add(task);
  } else {
    for (TaskId m = job.first_task; m < job.first_task + job.task_count; ++m) {
      if (table_.tasks[m].state != TaskState::kFinished) add(table_.tasks[m]);
    }
  }
}

Profile::Amounts Scheduler::note_waiting(TaskId t, std::size_t& known) {
  const std::size_t dims = facts_dims_;
  if (known < waiting_.size() && waiting_[known].task == t) {
    waiting_next_.push_back(waiting_[known]);
    const auto need = waiting_needs_.begin() + static_cast<std::ptrdiff_t>(known * dims);
    waiting_needs_next_.insert(waiting_needs_next_.end(), need, need + static_cast<std::ptrdiff_t>(dims));
    ++known;
  } else {
    waiting_next_.push_back({t, table_.tasks[t].shape, unit_estimate(t)});
    append_unit_need(t, waiting_needs_next_);
  }
  return {waiting_needs_next_.data() + waiting_needs_next_.size() - dims, dims};
}

void Scheduler::drop_waiting() {
  waiting_next_.pop_back();
  waiting_needs_next_.resize(waiting_needs_next_.size() - facts_dims_);
}

bool Scheduler::room_now() const {
  for (ShapeId s = 0; s < cluster_.shape_count(); ++s) {
    if (!cluster_.eligible(s).empty()) return true;
  }
  return false;
}

// What is free now, pooled over the workers in service, and when each task they hold is
// estimated to end (its start, or its dispatch while it has not started, plus its
// estimate; one that overran its estimate is taken to end now).
void Scheduler::build_profile(Time now) {
  const std::size_t dims = cluster_.dimensions().size();
  pooled_.assign(dims, 0.0);
  releases_.clear();
  for (WorkerId w = 0; w < cluster_.size(); ++w) {
    if (!cluster_.in_service(w)) continue;
    const Worker& worker = cluster_.worker(w);
    for (std::size_t k = 0; k < dims && k < worker.free.size(); ++k) pooled_[k] += std::max(0.0, worker.free[k]);
    const auto release = [&](TaskId t) {
      const Task& task = table_.tasks[t];
      const Time began = task.start >= 0 ? task.start : task.dispatched;
      releases_.push_back({std::max(now, began + estimate_of(task, w)), cluster_.request(task.shape).data()});
    };
    for (const TaskId t : worker.running) release(t);
    for (const TaskId t : worker.queue) release(t);
  }
  profile_.reset(now, pooled_, releases_);
}

// One pass in queue order. EASY: units start while they can; the first that cannot (the
// head) gets a reservation at its shadow time, the earliest estimated instant at which
// enough is free; a later unit may start now only if its estimated end is at or before
// the shadow time, or it needs no more than what is left over at the shadow time once
// the head has its share (the extra), which it then uses up. Conservative: every unit,
// in order, is given the earliest start at which it fits the profile for its whole
// estimate, and that share is taken out of the profile; a unit whose start is now
// starts. Reservations are rebuilt at every pass (no compression step is needed).
//
// What a pass costs is mostly reading the waiting units, thousands of them, so it reads
// as little as it can, deciding as the plain scan would:
// - A unit's estimate, need and first task's shape come from the list the last pass left
//   in queue order (note_waiting), not from the task table.
// - Past the EASY head, a unit whose first task no worker has room for now is passed over
//   before the rule: placing it would fail before asking the policy, changing nothing.
//   (A gang's members are placed and stopped together: while its first task waits, none
//   runs, so place_gang has nothing to stop before it fails.) Whether a unit is still
//   pending is read only for those the rule lets try.
// - When no worker has room for a task of any shape, nothing later in the queue can
//   start, and the pass stops there.
// Entries of tasks no longer pending are then left for a later pass to drop, unless
// every entry must be visited now: when the queue's length is read after the pass
// (backlog alerts, the autoscaler's load), or when a worker joined since the last pass
// that visited them all (it may have claimed a pending task, which could be queued again
// later beside its old entry).
void Scheduler::backfill_pass(Time now) {
  const bool visit_all = config_.backlog_alert > 0 || autoscaler_ || cluster_.size() != visited_workers_;
  if (!visit_all && !room_now()) return;
  const std::size_t dims = cluster_.dimensions().size();
  if (dims != facts_dims_ || fastest_speed_ != facts_speed_) {
    waiting_.clear();
    waiting_needs_.clear();
    facts_dims_ = dims;
    facts_speed_ = fastest_speed_;
  }
  waiting_next_.clear();
  waiting_needs_next_.clear();
  std::size_t known = 0;
  queue_->new_pass();
  bool profiled = false;
  bool head_blocked = false;
  bool stopped = false;
  Time shadow = kNever;
  const bool easy = config_.backfill == SchedulerConfig::Backfill::kEasy;
  while (queue_->has_front()) {
    const TaskId t = queue_->front();
    const bool lazy = easy && head_blocked && !visit_all;  // reads whether t is pending only if it may try
    if (!lazy && table_.tasks[t].state != TaskState::kPending) {
      if (known < waiting_.size() && waiting_[known].task == t) ++known;  // its facts leave with it
      queue_->pop_front();
      continue;
    }
    const Profile::Amounts need = note_waiting(t, known);
    const Waiting& unit = waiting_next_.back();
    if (!profiled) {
      build_profile(now);
      profiled = true;
    }
    if (easy && head_blocked) {
      if (cluster_.eligible(unit.shape).empty()) {
        queue_->skip_front();
        continue;
      }
      const bool ends_before_shadow = now + unit.estimate <= shadow;
      if (!ends_before_shadow && !Profile::fits(need, extra_)) {
        queue_->skip_front();
        continue;
      }
      if (lazy && table_.tasks[t].state != TaskState::kPending) {
        drop_waiting();
        queue_->pop_front();
        continue;
      }
      assert(!table_.jobs[table_.tasks[t].job].gang || [&] {
        const Job& job = table_.jobs[table_.tasks[t].job];
        for (TaskId m = job.first_task; m < job.first_task + job.task_count; ++m) {
          if (table_.tasks[m].state == TaskState::kQueued || table_.tasks[m].state == TaskState::kRunning) return false;
        }
        return true;
      }());
      if (!place_unit(now, t)) {
        queue_->skip_front();
        continue;
      }
      if (!ends_before_shadow) {
        for (std::size_t k = 0; k < need.size() && k < extra_.size(); ++k) extra_[k] -= need[k];
      }
      drop_waiting();
      queue_->pop_front();
    } else if (easy) {
      if (!place_unit(now, t)) {
        head_blocked = true;
        shadow = profile_.earliest(need, 0);
        if (std::isfinite(shadow)) {
          const Profile::Amounts free = profile_.free_at(shadow);
          extra_.assign(free.begin(), free.end());
        } else {
          extra_.assign(need.size(), 0.0);
        }
        for (std::size_t k = 0; k < extra_.size() && k < need.size(); ++k) extra_[k] -= need[k];
        queue_->skip_front();
        continue;
      }
      profile_.take(now, unit.estimate, need);
      drop_waiting();
      queue_->pop_front();
    } else {  // conservative
      const Time at = profile_.earliest(need, unit.estimate);
      if (!std::isfinite(at)) {  // more than the cluster in service offers: it waits
        queue_->skip_front();
        continue;
      }
      profile_.take(at, unit.estimate, need);
      if (at > now || !place_unit(now, t)) {
        queue_->skip_front();
        continue;
      }
      drop_waiting();
      queue_->pop_front();
    }
    // A unit started: the room it took may have been the last.
    if (!visit_all && !room_now()) {
      stopped = true;
      break;
    }
  }
  if (stopped) {  // the entries not visited keep their place, and so do their facts
    const auto from = static_cast<std::ptrdiff_t>(known);
    const auto needs_from = static_cast<std::ptrdiff_t>(known * dims);
    waiting_next_.insert(waiting_next_.end(), waiting_.begin() + from, waiting_.end());
    waiting_needs_next_.insert(waiting_needs_next_.end(), waiting_needs_.begin() + needs_from, waiting_needs_.end());
  } else {
    visited_workers_ = cluster_.size();
  }
  waiting_.swap(waiting_next_);
  waiting_needs_.swap(waiting_needs_next_);
}

namespace {

// Whether a task with these needs fits the worker `spec` describes: capacity and labels.
bool fits_spec(const TaskSpec& needs, const WorkerSpec& spec) {
  return carries(spec, needs.require) && first_misfit(needs.request, spec.capacity()).empty();
}

// Pools a worker's capacity into `offered` (memory -1 once a worker does not limit it).
void pool(Resources& offered, const Resources& c) {
  offered.cores += c.cores;
  offered.gpus += c.gpus;
  offered.memory = offered.memory < 0 || c.memory <= 0 ? -1 : offered.memory + c.memory;
  for (const auto& [name, amount] : c.other) offered.other[name] += amount;
}

}  // namespace

const Resources& Scheduler::offered_to(ShapeId s) {
  if (offers_.size() <= s) offers_.resize(cluster_.shape_count());
  Offer& o = offers_[s];
  for (; o.workers < cluster_.size(); ++o.workers) {
    const WorkerSpec& spec = cluster_.worker(static_cast<WorkerId>(o.workers)).spec;
    if (fits_spec(cluster_.needs(s), spec)) pool(o.offered, spec.capacity());
  }
  return o.offered;
}

std::string Scheduler::gang_misfit(const JobSpec& job) {
  // Pooled over the workers each member fits (capacity and labels), those that joined in
  // id order, then those described: the cores (and other amounts) the members ask for in
  // all against what those workers offer in all. Members of one shape fit the same
  // workers, so each shape is looked at once, in the order the members bring them.
  Resources asked;
  std::vector<ShapeId> shapes;
  for (const TaskSpec& t : job.tasks) {
    const ShapeId s = cluster_.shape_of(t);
    const Resources& request = cluster_.needs(s).request;
    asked.cores += request.cores;
    asked.gpus += request.gpus;
    asked.memory += request.memory;
    for (const auto& [name, amount] : request.other) asked.other[name] += amount;
    if (std::find(shapes.begin(), shapes.end(), s) == shapes.end()) shapes.push_back(s);
  }
  if (cluster_.size() == 0 && config_.described.empty()) return "";
  Resources offered;
  if (shapes.size() == 1) {
    offered = offered_to(shapes[0]);
    for (const WorkerSpec& spec : config_.described) {
      if (fits_spec(cluster_.needs(shapes[0]), spec)) pool(offered, spec.capacity());
    }
  } else {
    std::vector<const WorkerSpec*> known;
    for (const Worker& w : cluster_.workers()) known.push_back(&w.spec);
    for (const WorkerSpec& spec : config_.described) known.push_back(&spec);
    std::vector<bool> counted(known.size(), false);
    for (const ShapeId s : shapes) {
      for (std::size_t k = 0; k < known.size(); ++k) {
        if (counted[k] || !fits_spec(cluster_.needs(s), *known[k])) continue;
        counted[k] = true;
        pool(offered, known[k]->capacity());
      }
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
