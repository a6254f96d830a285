// The scheduler's tenants: accounting, limits and preemption (docs/fairness.md).
//
// Preemption runs after a placement pass, for the units the pass could not place, in the
// order the discipline offered them. A unit may take room from others when it outranks
// them: a higher priority class than theirs, or its tenant is owed its quota (it holds
// less than the quota, the unit included) and theirs holds more than its own quota (it
// borrowed; taking the victim leaves it at least its quota, so the victim's tenant is not
// owed in turn and nothing swings back). On each worker where the unit could run, the
// candidates are taken in order of the work they would lose (seconds run x cores; queued
// tasks lose none), the newest first among equals, until the unit fits; the worker where
// that loses least goes (fewest victims, then lowest id, on ties). Work placed at this
// instant is not a victim. Gangs neither preempt
// nor are preempted: stopping one member stops them all, which this rule does not weigh.
//
// With a grace period the victims run on until it ends (one that finishes meanwhile is
// not preempted) and no other round starts before: the room they free is the round's.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <map>

#include "core/scheduler.h"

namespace fulcrum {

namespace {

constexpr double kTolerance = 1e-9;

}  // namespace

void Scheduler::account(TaskId t, int sign) {
  if (!tenancy_) return;
  const Task& task = table_.tasks[t];
  tenants_.set_dimensions(cluster_.dimensions());
  tenants_.hold(table_.jobs[task.job].tenant_id, cluster_.request(task.shape), sign);
}

bool Scheduler::within_limit(TaskId t) {
  need_.clear();
  append_unit_need(t, need_);
  tenants_.set_dimensions(cluster_.dimensions());
  return tenants_.within_limit(table_.jobs[table_.tasks[t].job].tenant_id, need_);
}

bool Scheduler::preempt_pass(Time now) {
  if (!graces_.empty()) return false;  // a round is under way
  const std::vector<TaskId> waiting = passed_over_;
  bool placed = false;
  for (const TaskId t : waiting) {
    if (table_.tasks[t].state != TaskState::kPending) continue;
    if (make_room(now, t) && config_.preemption.grace <= 0) placed = true;
  }
  return placed;
}

bool Scheduler::make_room(Time now, TaskId t) {
  const Task& task = table_.tasks[t];
  const Job& job = table_.jobs[task.job];
  if (job.gang) return false;
  const std::vector<double>& need = cluster_.request(task.shape);
  const TenantId tenant = job.tenant_id;
  if (!tenants_.within_limit(tenant, need)) return false;  // its own limit holds it, not the others
  const bool owed = tenants_.any_quota() && tenants_.quota_ratio(tenant, need) <= 1 + kTolerance;

  struct Choice {
    WorkerId worker = kNoWorker;
    double lost = 0;
    std::vector<TaskId> victims;
  } best;
  std::vector<std::pair<double, TaskId>> candidates;
  std::vector<double> room;
  std::map<TenantId, std::vector<double>> taken;  // from each victim tenant, on this worker
  for (WorkerId w = 0; w < cluster_.size(); ++w) {
    if (!cluster_.in_service(w) || !cluster_.fits_capacity(w, task.shape)) continue;
    const Worker& worker = cluster_.worker(w);
    candidates.clear();
    const auto consider = [&](TaskId v) {
      const Task& victim = table_.tasks[v];
      const Job& vjob = table_.jobs[victim.job];
      if (vjob.gang || vjob.tenant_id == tenant) return;
      // Placed at this instant (by this pass or its rounds): taking it back would only
      // dispatch and cancel it in one breath, and each victim is taken at most once an
      // instant, so the rounds end.
      if (victim.dispatched >= now) return;
      if (std::any_of(graces_.begin(), graces_.end(), [&](const Grace& g) { return g.task == v; })) return;
      const bool outranked = vjob.priority_class < job.priority_class;
      if (!outranked && !(owed && vjob.priority_class == job.priority_class)) return;
      const double lost = victim.start >= 0 ? (now - victim.start) * std::max(1.0, cluster_.request(victim.shape)[0]) : 0;
      candidates.emplace_back(lost, v);
    };
    for (const TaskId v : worker.running) consider(v);
    for (const TaskId v : worker.queue) consider(v);
    if (candidates.empty()) continue;
    std::sort(candidates.begin(), candidates.end(),
              [](const auto& a, const auto& b) { return a.first != b.first ? a.first < b.first : a.second > b.second; });
    room.assign(worker.free.begin(), worker.free.end());
    taken.clear();
    Choice here;
    here.worker = w;
    for (const auto& [lost, v] : candidates) {
      if (Profile::fits(need, room)) break;
      const Task& victim = table_.tasks[v];
      const Job& vjob = table_.jobs[victim.job];
      const std::vector<double>& r = cluster_.request(victim.shape);
      if (vjob.priority_class >= job.priority_class) {
        // Taken back from a borrower: it keeps at least its quota.
        std::vector<double>& from = taken[vjob.tenant_id];
        from.resize(std::max(from.size(), r.size()), 0.0);
        for (std::size_t k = 0; k < r.size(); ++k) from[k] += r[k];
        if (tenants_.quota_ratio(vjob.tenant_id, from, -1) < 1 - kTolerance) {
          for (std::size_t k = 0; k < r.size(); ++k) from[k] -= r[k];
          continue;
        }
      }
      for (std::size_t k = 0; k < r.size() && k < room.size(); ++k) room[k] += r[k];
      here.lost += lost;
      here.victims.push_back(v);
    }
    if (!Profile::fits(need, room)) continue;
    const bool better = best.worker == kNoWorker || here.lost < best.lost ||
                        (here.lost == best.lost && here.victims.size() < best.victims.size());
    if (better) best = std::move(here);
  }
  if (best.worker == kNoWorker) return false;
  if (config_.preemption.grace > 0) {
    for (const TaskId v : best.victims) graces_.push_back({now + config_.preemption.grace, v, best.worker});
    return true;
  }
  for (const TaskId v : best.victims) preempt(now, v, best.worker);
  return place_unit(now, t);
}

void Scheduler::preempt(Time now, TaskId v, WorkerId w) {
  Task& task = table_.tasks[v];
  const double lost = task.start >= 0 ? now - task.start : 0;
  if (!detach_from_worker(v, w)) return;
  commands_.push_back({Command::Kind::kCancel, v, w, task.flops, config_.epoch});
  worker_changed(w);
  wasted_ += lost;
  ++preempted_;
  ++task.preemptions;
  notice(now, Notice::Kind::kTaskPreempted, w, v, lost);
  if (task.attempts > 0) --task.attempts;  // a preemption is not the task's failure
  task.start = -1;
  set_state(now, v, config_.preemption.requeue ? TaskState::kPending : TaskState::kFailed);
}

void Scheduler::end_graces(Time now) {
  std::vector<Grace> due;
  std::erase_if(graces_, [&](const Grace& g) {
    if (g.until > now) return false;
    due.push_back(g);
    return true;
  });
  for (const Grace& g : due) {
    if (holds(g.task, g.worker)) preempt(now, g.task, g.worker);
  }
}

}  // namespace fulcrum
