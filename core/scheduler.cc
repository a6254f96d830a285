#include "core/scheduler.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <sstream>

#include "core/fair_share.h"
#include "core/upward_rank.h"

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
    case TaskState::kBackoff: return "backoff";
  }
  return "?";
}

namespace {

// The task life cycle. Terminal states are final; replay (restore_*) may end a task from
// any other state; kRunning from kPending is a claim by a worker that kept running it
// across a scheduler failover. Only the checked build asserts it.
[[maybe_unused]] bool legal(TaskState from, TaskState to) {
  using S = TaskState;
  if (is_terminal(from)) return false;
  switch (to) {
    case S::kBlocked: return false;
    case S::kPending: return from != S::kPending;
    case S::kQueued: return from == S::kPending;
    case S::kRunning: return from == S::kQueued || from == S::kPending;
    case S::kBackoff: return from == S::kQueued || from == S::kRunning;
    case S::kFinished:
    case S::kFailed:
    case S::kCancelled: return true;
  }
  return false;
}

}  // namespace

Scheduler::Scheduler(const SchedulerConfig& config, std::unique_ptr<Policy> policy,
                     std::unique_ptr<QueueDiscipline> queue)
    : config_(config), policy_(std::move(policy)),
      queue_(queue                                                   ? std::move(queue)
             : config.backfill != SchedulerConfig::Backfill::kNone ? std::make_unique<OrderedScan>()
                                                                   : make_discipline(config.discipline ==
                                                                                     SchedulerConfig::Discipline::kSkipAhead)),
      rng_(config.seed, /*stream=*/2),
      cluster_(config.queue_cap),
      detector_({config.suspect_after, config.dead_after, config.detector_period, config.task_timeout}),
      retry_(config.retry_backoff),
      quarantine_({config.quarantine_after, config.quarantine_window, config.quarantine_for}),
      tenants_(config.tenants),
      tenancy_(config.fairness != SchedulerConfig::Fairness::kNone || !config.tenants.empty() ||
               config.preemption.enabled) {
  cluster_.set_network(config.network_latency, config.network_bandwidth);
  if (!queue && config.fairness != SchedulerConfig::Fairness::kNone) {
    const auto key = config.fairness == SchedulerConfig::Fairness::kDrf ? FairShare::Key::kDominantShare
                                                                         : FairShare::Key::kRunningTasks;
    queue_ = std::make_unique<FairShare>(key, tenants_, [this](TaskId t) {
      const Job& job = table_.jobs[table_.tasks[t].job];
      return FairShare::Lane{job.priority_class, job.tenant_id};
    });
  }
  if (config.autoscale.enabled) autoscaler_ = std::make_unique<Autoscaler>(config.autoscale);
  for (const WorkerSpec& spec : config.described) fastest_speed_ = std::max(fastest_speed_, spec.speed);
}

WorkerId Scheduler::on_worker_joined(Time now, const WorkerSpec& spec, const std::vector<TaskId>& claimed,
                                     bool booted) {
  last_now_ = now;
  if (booted && booting_ > 0) --booting_;
  const WorkerId w = cluster_.add(spec);
  cluster_.mutable_worker(w).last_heard = now;
  fastest_speed_ = std::max(fastest_speed_, spec.speed);
  if (autoscaler_) {
    worker_changed(w);  // also counts its share of the capacity
  } else {
    policy_->on_worker_changed(cluster_, w);
  }
  if (detector_.watching()) detector_.arm(now);
  for (TaskId t : claimed) {
    // A gang member is not taken back alone: the gang starts anew, all together.
    const bool ours = t < table_.tasks.size() && table_.tasks[t].state == TaskState::kPending &&
                      !table_.jobs[table_.tasks[t].job].gang;
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

void Scheduler::on_scale_out_failed(Time now, std::uint32_t n) {
  last_now_ = now;
  booting_ -= std::min(booting_, n);
}

void Scheduler::on_worker_left(Time now, WorkerId w) {
  last_now_ = now;
  declare_dead(now, w);
  place_pending(now);
}

void Scheduler::declare_dead(Time now, WorkerId w) {
  Worker& worker = cluster_.mutable_worker(w);
  if (!worker.alive) return;
  worker.alive = false;
  std::vector<TaskId> lost(worker.running.begin(), worker.running.end());
  lost.insert(lost.end(), worker.queue.begin(), worker.queue.end());
  for (TaskId t : worker.running) {
    if (table_.tasks[t].start >= 0) wasted_ += now - table_.tasks[t].start;
  }
  for (const TaskId t : lost) {
    count_spread(table_.tasks[t], w, -1);
    account(t, -1);
  }
  worker.running.clear();
  worker.queue.clear();
  worker.in_system = 0;
  worker.outstanding_flops = 0;
  cluster_.release_all(w);
  quarantine_.forget(w);
  worker_changed(w);
  notice(now, Notice::Kind::kWorkerDead, w, 0, static_cast<double>(lost.size()));
  recovery_.lost(w, lost);
  // requeue() puts a task ahead of its equals: go backwards so that the lost tasks keep
  // their order. A gang that lost a member is stopped and queued again whole.
  for (auto it = lost.rbegin(); it != lost.rend(); ++it) {
    const Task& task = table_.tasks[*it];
    if (!table_.jobs[task.job].gang) {
      requeue(now, *it);
    } else if (task.state == TaskState::kQueued || task.state == TaskState::kRunning) {
      stop_gang(now, task.job, /*final=*/false);
    }
  }
  note_worker_failure(now, w);
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
  job.gang = spec.gang;
  job.tenant = spec.tenant;
  job.priority_class = spec.priority_class;
  if (tenancy_) job.tenant_id = tenants_.id_of(spec.tenant);
  table_.jobs.push_back(job);
  for (std::size_t i = 0; i < spec.tasks.size(); ++i) {
    Task task;
    task.id = first + i;
    task.job = job_id;
    task.flops = spec.tasks[i].flops;
    task.estimate = spec.tasks[i].estimate;
    task.submit = now;
    task.unfinished_parents = static_cast<std::uint32_t>(spec.tasks[i].parents.size());
    task.shape = cluster_.shape_of(spec.tasks[i]);
    for (std::uint32_t p : spec.tasks[i].parents) {
      assert(p < i && "parents must precede their children");
      table_.tasks[first + p].children.push_back(task.id);
    }
    table_.tasks.push_back(std::move(task));
  }
  unfinished_ += spec.tasks.size();
  last_plan_.priorities = priorities(spec);
  last_plan_.workers.clear();
  policy_->on_job_submitted(cluster_, spec, first, now, last_plan_);
  for (std::size_t i = 0; i < spec.tasks.size(); ++i) table_.tasks[first + i].priority = last_plan_.priorities[i];
  // Shortest first: the unit's estimate orders it, arrival order among equals.
  if (config_.shortest_first) {
    const double key = -unit_estimate(first);
    for (std::size_t i = 0; i < spec.tasks.size(); ++i) {
      table_.tasks[first + i].priority = spec.gang ? key : -unit_estimate(first + i);
    }
  }
  // A task that fits no worker, or a gang wider than the cluster, would wait forever: it
  // fails now, and its job with it (the others are cancelled), as real mode refuses such
  // a Submit.
  bool refused = false;
  const bool gang_too_wide = spec.gang && !gang_misfit(spec).empty();
  for (std::size_t i = 0; i < spec.tasks.size(); ++i) {
    const TaskId t = first + i;
    if (!gang_too_wide && misfit(table_.tasks[t].shape).empty()) continue;
    refused = true;
    ++unschedulable_;
    set_state(now, t, TaskState::kFailed);
    notice(now, Notice::Kind::kTaskUnschedulable, kNoWorker, t);
  }
  if (refused) {
    for (std::size_t i = 0; i < spec.tasks.size(); ++i) {
      if (!is_terminal(table_.tasks[first + i].state)) set_state(now, first + i, TaskState::kCancelled);
    }
    return job_id;
  }
  for (std::size_t i = 0; i < spec.tasks.size(); ++i) {
    if (table_.tasks[first + i].unfinished_parents == 0) make_ready(now, first + i);
  }
  return job_id;
}

std::vector<double> Scheduler::priorities(const JobSpec& spec) {
  std::vector<double> priority(spec.tasks.size());
  for (std::size_t i = 0; i < spec.tasks.size(); ++i) priority[i] = spec.tasks[i].priority;
  if (spec.tasks.size() < 2 || config_.priority == SchedulerConfig::Priority::kFifo) return priority;
  if (config_.priority == SchedulerConfig::Priority::kRandom) {
    for (double& p : priority) p = rng_.uniform01();
    return priority;
  }
  // Upward rank (model/dag.h) with mean costs: a task's time (after its own priority) plus
  // the longest (data, task) chain below it. Parents precede children, as upward_rank needs.
  double speed_sum = 0;
  std::size_t alive = 0;
  for (const Worker& w : cluster_.workers()) {
    if (!w.alive) continue;
    speed_sum += w.spec.speed;
    ++alive;
  }
  const double mean_speed = alive ? speed_sum / static_cast<double>(alive) : 1e9;
  std::vector<RankTask> tasks(spec.tasks.size());
  for (std::size_t i = 0; i < spec.tasks.size(); ++i) {
    const TaskSpec& t = spec.tasks[i];
    double time = t.flops / mean_speed;
    if (!t.cost.empty()) {
      time = 0;
      for (const auto& [host, seconds] : t.cost) time += seconds;
      time /= static_cast<double>(t.cost.size());
    }
    tasks[i].time = priority[i] + time;
    tasks[i].parents = t.parents;
    tasks[i].parent_comm.resize(t.parents.size());
    for (std::size_t k = 0; k < t.parents.size(); ++k) {
      tasks[i].parent_comm[k] = k < t.parent_comm.size() && t.parent_comm[k] >= 0
                                    ? t.parent_comm[k]
                                    : config_.network_latency +
                                          (k < t.parent_bytes.size() ? t.parent_bytes[k] / config_.network_bandwidth : 0);
    }
  }
  return upward_rank(tasks);
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
    // A pending task's queue entry, a task's backoff, are skipped when they come up.
    set_state(now, t, TaskState::kCancelled);
  }
  place_pending(now);
}

void Scheduler::on_task_started(Time now, TaskId t, WorkerId w) {
  last_now_ = now;
  // The report is applied before the heartbeat it carries lets w take new tasks: placing
  // first could dispatch this very task to w anew and count the old attempt's report for
  // the new one (or dispatch to w just before the report quarantines it).
  const bool revived = heard_from(now, w);
  if (holds(t, w) && table_.tasks[t].state == TaskState::kQueued) {
    Worker& worker = cluster_.mutable_worker(w);
    // The worker runs its queue in FIFO order, so the task is almost always at the front.
    if (auto it = std::find(worker.queue.begin(), worker.queue.end(), t); it != worker.queue.end()) {
      worker.queue.erase(it);
      worker.running.push_back(t);
      set_state(now, t, TaskState::kRunning);
      table_.tasks[t].start = now;
    }
  }
  if (revived) place_pending(now);
}

void Scheduler::on_task_finished(Time now, TaskId t, WorkerId w, Time started_at) {
  last_now_ = now;
  const bool revived = heard_from(now, w);  // see on_task_started
  if (!holds(t, w)) {  // stale: reassigned, cancelled or already recorded
    if (revived) place_pending(now);
    return;
  }
  Task& task = table_.tasks[t];
  task.start = started_at;
  cluster_.set_now(now);
  policy_->on_task_finished(cluster_, w, task, now);
  detach_from_worker(t, w);
  Worker& worker = cluster_.mutable_worker(w);
  ++worker.completed;
  worker.busy_time += now - started_at;
  worker_changed(w);
  set_state(now, t, TaskState::kFinished);
  place_pending(now);
}

std::string Scheduler::unschedulable(const JobSpec& job) {
  for (std::size_t i = 0; i < job.tasks.size(); ++i) {
    std::string why = misfit(cluster_.shape_of(job.tasks[i]));
    if (why.empty()) continue;
    const std::string& name = job.tasks[i].name;
    return "task " + std::to_string(i) + (name.empty() ? "" : " ('" + name + "')") + " fits no worker: " + why;
  }
  if (job.gang) {
    if (std::string why = gang_misfit(job); !why.empty()) return "the gang of " + std::to_string(job.tasks.size()) +
                                                                  " tasks fits no set of workers at once: " + why;
  }
  return "";
}

std::string Scheduler::misfit(ShapeId s) const {
  if (cluster_.fitting_workers(s) > 0) return "";
  std::vector<const WorkerSpec*> known;
  for (const Worker& w : cluster_.workers()) known.push_back(&w.spec);
  for (const WorkerSpec& spec : config_.described) known.push_back(&spec);
  if (known.empty()) return "";  // nothing to judge by yet: it waits for workers
  const TaskSpec& needs = cluster_.needs(s);
  // Labels first: a task that no worker's labels admit says which label.
  std::vector<const WorkerSpec*> labelled;
  for (const WorkerSpec* spec : known) {
    if (!carries(*spec, needs.require)) continue;
    if (first_misfit(needs.request, spec->capacity()).empty()) return "";  // a described worker fits
    labelled.push_back(spec);
  }
  if (labelled.empty()) {
    std::string want;
    for (const auto& [key, value] : needs.require) want += (want.empty() ? "" : ", ") + key + "=" + value;
    return "no worker has " + want;
  }
  // The largest amount any worker offers, dimension by dimension.
  Resources most;
  bool memory_unlimited = false;
  for (const WorkerSpec* spec : labelled) {
    const Resources c = spec->capacity();
    most.cores = std::max(most.cores, c.cores);
    memory_unlimited = memory_unlimited || c.memory <= 0;
    most.memory = std::max(most.memory, c.memory);
    most.gpus = std::max(most.gpus, c.gpus);
    for (const auto& [name, amount] : c.other) most.other[name] = std::max(most.other[name], amount);
  }
  if (memory_unlimited) most.memory = 0;
  const std::string dim = first_misfit(needs.request, most);
  if (dim.empty()) return "no single worker has all of its request at once";
  const auto amount = [&](const Resources& r) {
    if (dim == "cores") return r.cores;
    if (dim == "memory") return r.memory;
    if (dim == "gpus") return r.gpus;
    const auto it = r.other.find(dim);
    return it == r.other.end() ? 0.0 : it->second;
  };
  std::ostringstream out;
  out << dim << ": it asks for " << amount(needs.request) << ", the most any worker has is " << amount(most);
  return out.str();
}

bool Scheduler::holds(TaskId t, WorkerId w) const {
  if (t >= table_.tasks.size()) return false;
  const Task& task = table_.tasks[t];
  return task.worker == w && (task.state == TaskState::kQueued || task.state == TaskState::kRunning);
}

bool Scheduler::failure_is_final(TaskId t) const {
  return t < table_.tasks.size() && table_.tasks[t].attempts >= config_.max_attempts;
}

void Scheduler::on_task_failed(Time now, TaskId t, WorkerId w) {
  last_now_ = now;
  const bool revived = heard_from(now, w);  // see on_task_started
  if (!holds(t, w)) {
    if (revived) place_pending(now);
    return;
  }
  attempt_failed(now, t, w);
  note_worker_failure(now, w);
  place_pending(now);
}

void Scheduler::attempt_failed(Time now, TaskId t, WorkerId w) {
  Task& task = table_.tasks[t];
  if (!detach_from_worker(t, w)) return;
  if (task.start >= 0) wasted_ += now - task.start;
  worker_changed(w);
  const double backoff = retry_.failed(t);
  if (table_.jobs[task.job].gang) {
    // The gang stops and runs again whole, at once (one attempt for all its members), or
    // fails whole.
    const bool final = failure_is_final(t);
    if (!final) notice(now, Notice::Kind::kTaskRetry, w, t, 0);
    stop_gang(now, task.job, final);
    return;
  }
  if (failure_is_final(t)) {
    set_state(now, t, TaskState::kFailed);
    return;
  }
  notice(now, Notice::Kind::kTaskRetry, w, t, backoff);
  if (backoff <= 0) {
    requeue(now, t);
    return;
  }
  // Waits out its backoff outside the central queue; release_backoffs() puts it back.
  set_state(now, t, TaskState::kBackoff);
  task.start = -1;
  ++retried_;
  retry_.hold(t, now + backoff);
}

bool Scheduler::heard_from(Time now, WorkerId w) {
  if (w >= cluster_.size()) return false;
  Worker& worker = cluster_.mutable_worker(w);
  if (!worker.alive) return false;  // a dead worker must join again
  worker.last_heard = now;
  if (!worker.suspected) return false;
  worker.suspected = false;
  worker_changed(w);
  notice(now, Notice::Kind::kWorkerAlive, w);
  return true;
}

void Scheduler::on_heartbeat(Time now, WorkerId w) {
  last_now_ = now;
  if (heard_from(now, w)) place_pending(now);
}

void Scheduler::on_tick(Time now) {
  last_now_ = now;
  release_backoffs(now);
  if (!graces_.empty()) end_graces(now);
  if (detector_.due(now)) check_detector(now);
  place_pending(now);
  if (autoscaler_ && now >= autoscaler_->next_evaluation()) autoscale(now);
}

void Scheduler::on_instant_end(Time now) {
  last_now_ = now;
  place_pending_tasks(now, /*instant_over=*/true);
  if (config_.backlog_alert > 0) check_backlog(now);
  if (autoscaler_) observe_load(now);
}

void Scheduler::autoscale(Time now) {
  const AutoscaleDecision d = autoscaler_->evaluate(now, load_.in_service(), booting_);
  if (d.delta > 0) {
    const auto n = static_cast<std::uint32_t>(d.delta);
    booting_ += n;
    Command c{Command::Kind::kScaleOut, 0, kNoWorker, 0, config_.epoch};
    c.count = n;
    commands_.push_back(c);
    notices_.push_back(Notice{now, Notice::Kind::kScaleOut, kNoWorker, 0, d.metric, false, n});
    return;
  }
  // Scale in: drain the workers that hold the least work (the newest on ties), so that
  // they empty soonest.
  for (std::int64_t k = 0; k < -d.delta; ++k) {
    WorkerId pick = kNoWorker;
    for (WorkerId w = 0; w < cluster_.size(); ++w) {
      const Worker& worker = cluster_.worker(w);
      if (!worker.alive || worker.draining) continue;
      if (pick == kNoWorker || worker.in_system <= cluster_.worker(pick).in_system) pick = w;
    }
    if (pick == kNoWorker) break;
    cluster_.mutable_worker(pick).draining = true;
    commands_.push_back({Command::Kind::kScaleIn, 0, pick, 0, config_.epoch});
    notice(now, Notice::Kind::kScaleIn, pick, 0, d.metric);
    worker_changed(pick);  // ineligible now; retired at once if it holds nothing
  }
}

void Scheduler::observe_load(Time now) {
  autoscaler_->update(now, load_.busy(), load_.tasks() + static_cast<double>(queue_->size()), load_.slots());
}

Time Scheduler::next_wakeup() const {
  Time t = std::min(detector_.next_check(), retry_.next_release());
  if (autoscaler_) t = std::min(t, autoscaler_->next_evaluation());
  if (hold_until_ > last_now_) t = std::min(t, hold_until_);
  for (const Grace& g : graces_) t = std::min(t, g.until);
  return t;
}

void Scheduler::check_detector(Time now) {
  for (WorkerId w = 0; w < cluster_.size(); ++w) {
    Worker& worker = cluster_.mutable_worker(w);
    if (!worker.alive) continue;
    switch (detector_.judge(now, worker)) {
      case FailureDetector::Verdict::kDead: declare_dead(now, w); continue;
      case FailureDetector::Verdict::kSuspect:
        worker.suspected = true;
        worker_changed(w);
        notice(now, Notice::Kind::kWorkerSuspected, w);
        break;
      case FailureDetector::Verdict::kAlive: break;
    }
    std::vector<TaskId> expired;
    for (TaskId t : worker.running) {
      if (detector_.timed_out(now, table_.tasks[t].start)) expired.push_back(t);
    }
    for (TaskId t : expired) {
      // A gang member stopped when an earlier one of its gang timed out is no longer here.
      if (!holds(t, w)) continue;
      notice(now, Notice::Kind::kTaskTimedOut, w, t, now - table_.tasks[t].start);
      commands_.push_back({Command::Kind::kCancel, t, w, table_.tasks[t].flops, config_.epoch});
      attempt_failed(now, t, w);
      note_worker_failure(now, w);
    }
  }
  for (const WorkerId w : quarantine_.release(now)) {
    cluster_.mutable_worker(w).quarantined = false;
    worker_changed(w);
    notice(now, Notice::Kind::kWorkerReleased, w);
  }
  detector_.checked(now);
}

void Scheduler::release_backoffs(Time now) {
  std::vector<TaskId> due;
  retry_.release(now, due);
  // requeue() puts a task ahead of its equals: backwards keeps the order they were held in.
  for (auto it = due.rbegin(); it != due.rend(); ++it) {
    if (table_.tasks[*it].state == TaskState::kBackoff) set_state(now, *it, TaskState::kPending);
  }
}

void Scheduler::note_worker_failure(Time now, WorkerId w) {
  if (!quarantine_.enabled()) return;
  Worker& worker = cluster_.mutable_worker(w);
  if (!quarantine_.failed(now, worker.spec.name, w, worker.alive && !worker.quarantined)) return;
  worker.quarantined = true;
  detector_.arm(now);  // its checks release the worker
  worker_changed(w);
  notice(now, Notice::Kind::kWorkerQuarantined, w, 0, quarantine_.duration());
}

void Scheduler::check_backlog(Time now) {
  if (config_.backlog_alert == 0) return;
  const bool high = queue_->size() >= config_.backlog_alert;
  if (high == backlog_high_) return;
  backlog_high_ = high;
  notice(now, high ? Notice::Kind::kBacklogHigh : Notice::Kind::kBacklogCleared, kNoWorker, 0,
         static_cast<double>(queue_->size()));
}

void Scheduler::notice(Time now, Notice::Kind kind, WorkerId w, TaskId t, double value) {
  const bool alert = kind == Notice::Kind::kWorkerDead || kind == Notice::Kind::kWorkerQuarantined ||
                     kind == Notice::Kind::kTaskFailed || kind == Notice::Kind::kBacklogHigh ||
                     kind == Notice::Kind::kTaskUnschedulable;
  notices_.push_back(Notice{now, kind, w, t, value, alert});
}

void Scheduler::take_notices(std::vector<Notice>& out) {
  out.clear();
  out.swap(notices_);
}

void Scheduler::restore_finished(TaskId t, Time start, Time end, std::uint32_t attempts) {
  assert(t < table_.tasks.size() && !is_terminal(table_.tasks[t].state));
  table_.tasks[t].start = start;
  table_.tasks[t].attempts = attempts;
  set_state(end, t, TaskState::kFinished);
}

void Scheduler::restore_failed(TaskId t, Time start, Time end, std::uint32_t attempts) {
  assert(t < table_.tasks.size() && !is_terminal(table_.tasks[t].state));
  table_.tasks[t].start = start;
  table_.tasks[t].attempts = attempts;
  set_state(end, t, TaskState::kFailed);
}

void Scheduler::restore_attempts(TaskId t, std::uint32_t attempts, Time start) {
  assert(t < table_.tasks.size() && !is_terminal(table_.tasks[t].state));
  assert(table_.tasks[t].state != TaskState::kQueued && table_.tasks[t].state != TaskState::kRunning);
  table_.tasks[t].attempts = attempts;
  table_.tasks[t].start = start;
}

void Scheduler::restore_plan(JobId job_id, const JobPlan& plan) {
  const Job& job = table_.jobs.at(job_id);
  for (std::uint32_t i = 0; i < job.task_count && i < plan.priorities.size(); ++i) {
    table_.tasks[job.first_task + i].priority = plan.priorities[i];
  }
  queue_->reprioritise([this](TaskId t) { return table_.tasks[t].priority; });
  policy_->restore_plan(job.first_task, plan.workers);
}

void Scheduler::begin_recovery(Time now, Time grace) {
  last_now_ = now;
  hold_until_ = now + grace;
}

void Scheduler::take_commands(std::vector<Command>& out) {
  out.clear();
  out.swap(commands_);
}

void Scheduler::set_state(Time now, TaskId t, TaskState to) {
  Task& task = table_.tasks[t];
  const TaskState from = task.state;
  assert(legal(from, to) && "illegal task state change");
  task.state = to;
  if (to == TaskState::kPending) {
    // A task that was ready before (its worker died, its backoff ended) was accepted
    // before everything waiting now: it goes ahead of fresh work.
    const Job& job = table_.jobs[task.job];
    // A gang waits as one entry, its first unfinished task's: placing it places them all.
    if (!job.gang || t == gang_leader(job)) {
      queue_->push(t, task.priority, /*returned=*/from != TaskState::kBlocked, task.shape);
    }
    return;
  }
  if (!is_terminal(to)) return;
  task.end = now;
  --unfinished_;
  --table_.jobs[task.job].unfinished;
  if (to == TaskState::kFailed) notice(now, Notice::Kind::kTaskFailed, task.worker, t, task.attempts);
  if (!recovery_.idle()) {
    std::vector<WorkerId> recovered;
    recovery_.ended(t, recovered);
    for (const WorkerId w : recovered) notice(now, Notice::Kind::kWorkRecovered, w);
  }
  if (to != TaskState::kFinished) return;
  for (TaskId child : task.children) {
    if (--table_.tasks[child].unfinished_parents == 0) make_ready(now, child);
  }
}

void Scheduler::attach_running(Time now, TaskId t, WorkerId w) {
  Task& task = table_.tasks[t];
  Worker& worker = cluster_.mutable_worker(w);
  set_state(now, t, TaskState::kRunning);
  task.worker = w;
  task.start = now;
  ++task.attempts;
  worker.running.push_back(t);
  ++worker.in_system;
  worker.outstanding_flops += task.flops;
  cluster_.hold(w, task.shape, +1);
  count_spread(task, w, +1);
  account(t, +1);
}

void Scheduler::make_ready(Time now, TaskId t) {
  set_state(now, t, TaskState::kPending);
  place_pending(now);
}

void Scheduler::place_pending(Time now) {
  place_pending_tasks(now);
  if (config_.backlog_alert > 0) check_backlog(now);
  if (autoscaler_) observe_load(now);
}

void Scheduler::place_pending_tasks(Time now, bool instant_over) {
  if (hold_until_ > now) return;
  if (config_.pass_per_instant && !instant_over) return;
  cluster_.set_now(now);
  if (config_.backfill != SchedulerConfig::Backfill::kNone) {
    backfill_pass(now);
    return;
  }
  if (tenancy_) {
    // Dominant shares are shares of what the workers in service offer now.
    tenants_.set_dimensions(cluster_.dimensions());
    std::vector<double> totals(cluster_.dimensions().size(), 0.0);
    for (const Worker& worker : cluster_.workers()) {
      if (!cluster_.in_service(worker.id)) continue;
      for (std::size_t k = 0; k < totals.size() && k < worker.capacity.size(); ++k) totals[k] += worker.capacity[k];
    }
    tenants_.set_totals(std::move(totals));
  }
  // With preemption, a pass that made room (and placed what it made room for) runs again:
  // the next unit of each lane may be owed room too.
  do {
    passed_over_.clear();
    place_in_order(now);
  } while (config_.preemption.enabled && !passed_over_.empty() && preempt_pass(now));
}

void Scheduler::place_in_order(Time now) {
  queue_->new_pass();
  while (queue_->has_front()) {
    const TaskId t = queue_->front();
    // Entries of tasks that left the pending state (cancelled, claimed, restored) are
    // dropped here rather than searched for when they leave.
    if (table_.tasks[t].state != TaskState::kPending) {
      queue_->pop_front();
      continue;
    }
    if (place_unit(now, t)) {
      queue_->pop_front();
    } else {
      if (config_.preemption.enabled) passed_over_.push_back(t);
      queue_->skip_front();
    }
  }
}

bool Scheduler::place_unit(Time now, TaskId t) {
  const Task& task = table_.tasks[t];
  const Job& job = table_.jobs[task.job];
  if (tenancy_ && tenants_.any_limit() && !within_limit(t)) return false;
  if (job.gang) return place_gang(now, job);
  cluster_.set_shape(task.shape);
  std::optional<WorkerId> w;
  if (!cluster_.eligible().empty()) w = policy_->pick(cluster_, task, rng_);
  if (!w) return false;
  assert(cluster_.is_eligible(*w) && "policy picked an ineligible worker");
  if (cluster_.needs(task.shape).spread != Spread::kNone) w = spread_pick(task, *w);
  dispatch(now, t, *w);
  return true;
}

std::string Scheduler::spread_key(const Task& task, WorkerId w) const {
  const Worker& worker = cluster_.worker(w);
  return cluster_.needs(task.shape).spread == Spread::kZone ? worker.spec.zone : worker.spec.name;
}

void Scheduler::count_spread(const Task& task, WorkerId w, int sign) {
  if (cluster_.needs(task.shape).spread == Spread::kNone) return;
  auto& counts = spread_counts_[task.job];
  std::uint32_t& n = counts[spread_key(task, w)];
  n += sign;
  if (n == 0) counts.erase(spread_key(task, w));
  if (counts.empty()) spread_counts_.erase(task.job);
}

WorkerId Scheduler::spread_pick(const Task& task, WorkerId picked) {
  const auto found = spread_counts_.find(task.job);
  if (found == spread_counts_.end()) return picked;  // nothing of the job placed yet
  const auto& counts = found->second;
  const auto count = [&](WorkerId w) {
    const auto it = counts.find(spread_key(task, w));
    return it == counts.end() ? 0u : it->second;
  };
  // A scan of the shape's eligible workers: spread is for the few tasks of a job that
  // must not share a failure domain, not for the bulk of the work.
  std::uint32_t least = count(picked);
  for (const WorkerId w : cluster_.eligible()) least = std::min(least, count(w));
  if (count(picked) == least) return picked;
  // The policy's choice holds more of the job than another does: the least loaded of the
  // least used goes instead.
  WorkerId best = kNoWorker;
  for (const WorkerId w : cluster_.eligible()) {
    if (count(w) != least) continue;
    if (best == kNoWorker || cluster_.worker(w).in_system < cluster_.worker(best).in_system) best = w;
  }
  return best;
}

void Scheduler::occupy(TaskId t, WorkerId w) {
  const Task& task = table_.tasks[t];
  Worker& worker = cluster_.mutable_worker(w);
  worker.queue.push_back(t);
  ++worker.in_system;
  worker.outstanding_flops += task.flops;
  cluster_.hold(w, task.shape, +1);
  count_spread(task, w, +1);
  account(t, +1);
  worker_changed(w);
}

void Scheduler::dispatch(Time now, TaskId t, WorkerId w) {
  occupy(t, w);
  send_dispatch(now, t, w);
}

void Scheduler::send_dispatch(Time now, TaskId t, WorkerId w) {
  Task& task = table_.tasks[t];
  set_state(now, t, TaskState::kQueued);
  task.worker = w;
  task.dispatched = now;
  ++task.attempts;
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
  // Recomputed when empty, so rounding never leaves a drained worker with work.
  worker.outstanding_flops = worker.in_system == 0 ? 0 : worker.outstanding_flops - table_.tasks[t].flops;
  if (worker.in_system == 0) {
    cluster_.release_all(w);
  } else {
    cluster_.hold(w, table_.tasks[t].shape, -1);
  }
  count_spread(table_.tasks[t], w, -1);
  account(t, -1);
  return true;
}

void Scheduler::requeue(Time now, TaskId t) {
  table_.tasks[t].start = -1;
  ++retried_;
  set_state(now, t, TaskState::kPending);
}

void Scheduler::worker_changed(WorkerId w) {
  if (autoscaler_) {
    retire_if_drained(w);
    load_.update(w, cluster_.worker(w));
    observe_load(last_now_);
  }
  cluster_.refresh(w);
  policy_->on_worker_changed(cluster_, w);
}

void Scheduler::retire_if_drained(WorkerId w) {
  Worker& worker = cluster_.mutable_worker(w);
  if (!worker.draining || !worker.alive || worker.in_system != 0) return;
  // Drained: it leaves the core's service for good (a dead worker is not retired; a report
  // from it is stale, and its disconnection is no death).
  worker.alive = false;
  commands_.push_back({Command::Kind::kRetire, 0, w, 0, config_.epoch});
  notice(last_now_, Notice::Kind::kWorkerRetired, w);
}

}  // namespace fulcrum
