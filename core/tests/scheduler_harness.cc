#include "core/tests/scheduler_harness.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "core/durable.h"
#include "core/scheduler.h"
#include "policies/registry.h"

namespace fulcrum::harness {

std::uint32_t ByteChoices::pick(std::uint32_t n) {
  if (n <= 1) return 0;
  std::uint32_t v = 0;
  const int bytes = n > 256 ? 2 : 1;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | (pos_ < size_ ? data_[pos_++] : 0);
  return v % n;
}

namespace {

template <class T, std::size_t N>
const T& one_of(Choices& c, const T (&values)[N]) {
  return values[c.pick(N)];
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

const char* kind_name(Command::Kind k) {
  switch (k) {
    case Command::Kind::kDispatch: return "dispatch";
    case Command::Kind::kCancel: return "cancel";
    case Command::Kind::kScaleOut: return "scale_out";
    case Command::Kind::kScaleIn: return "scale_in";
    case Command::Kind::kRetire: return "retire";
  }
  return "?";
}

// A failure for good and a cancelled job are journaled with the start (and dispatches) of
// the tasks' last attempts where the record types have those fields, so that a replay
// restores them; without them a replayed task has start -1 (and attempts 0 if cancelled)
// and the replay invariant fails.
template <class Record>
void set_start(Record& r, Time start) {
  if constexpr (requires { r.start; }) r.start = start;
}
template <class Record>
void set_attempts(Record& r, const TaskTable& table) {
  if constexpr (requires { r.attempts; r.starts; }) {
    const Job& job = table.jobs[r.job];
    for (TaskId t = job.first_task; t < job.first_task + job.task_count; ++t) {
      r.attempts.push_back(table.tasks[t].attempts);
      r.starts.push_back(table.tasks[t].start);
    }
  }
}

class Harness;

// Wraps the policy under test: checks, at every pick, that the eligible set is what the
// workers' states say and that the worker picked may take a task.
class CheckedPolicy final : public Policy {
 public:
  CheckedPolicy(std::unique_ptr<Policy> inner, Harness* h) : inner_(std::move(inner)), h_(h) {}
  std::string name() const override { return inner_->name(); }
  std::optional<WorkerId> pick(const ClusterState& cluster, const Task& task, Rng& rng) override;
  void on_worker_changed(const ClusterState& cluster, WorkerId w) override { inner_->on_worker_changed(cluster, w); }
  void on_task_finished(const ClusterState& cluster, WorkerId w, const Task& task, Time now) override {
    inner_->on_task_finished(cluster, w, task, now);
  }
  void on_job_submitted(const ClusterState& cluster, const JobSpec& job, TaskId first, Time now,
                        JobPlan& plan) override {
    inner_->on_job_submitted(cluster, job, first, now, plan);
  }
  void restore_plan(TaskId first, const std::vector<std::string>& workers) override {
    inner_->restore_plan(first, workers);
  }

 private:
  std::unique_ptr<Policy> inner_;
  Harness* h_;
};

// A report from a host to the scheduler, in flight on its connection.
struct Msg {
  enum class Kind : std::uint8_t { kHeartbeat, kStarted, kDone };
  Kind kind = Kind::kHeartbeat;
  TaskId task = 0;
  bool ok = true;
  Time start = 0;
};

// One connection of a host to the current leader, as one worker incarnation (WorkerId).
struct Conn {
  std::uint32_t host = 0;
  WorkerId worker = kNoWorker;
  bool host_open = true;       // the host still sends and receives on it
  bool sched_open = true;      // the scheduler has not handled its close yet
  bool close_pending = false;  // the host closed it; the scheduler sees that after the outbox
  std::deque<Msg> outbox;      // host -> scheduler
  std::deque<Command> inbox;   // scheduler -> host
  std::set<TaskId> claimed_done;  // claimed when registering though finished: report on its way
};

struct Host {
  std::string name;
  WorkerSpec spec;
  bool up = true;
  bool retired = false;
  bool lagging = false;  // its messages wait in flight until delivered one by one
  int conn = -1;         // index into conns_, -1: not connected
  std::deque<TaskId> queue;                         // dispatches received, not started
  std::map<TaskId, Time> executing;                 // task -> start
  std::map<TaskId, std::pair<bool, Time>> unreported;  // finished while disconnected: ok, start
};

class Harness {
 public:
  Harness(Choices& c, const Options& o) : c_(c), opt_(o) {}
  Outcome run();
  void fail(const std::string& what) {
    if (out_.failure.empty()) out_.failure = what;
  }
  void check_pick(const ClusterState& cluster, WorkerId w);

 private:
  enum Event : std::uint8_t {
    kSubmit, kNewHost, kConnect, kDisconnect, kCrash, kRestart, kHeartbeat, kHeartbeatAll, kDeliverUp,
    kDeliverDown, kDeliverAll, kStart, kFinishOk, kFinishFail, kLag, kAdvance, kTick, kCancelJob, kFailover,
    kBootJoin, kBootFail, kEventCount
  };

  void configure();
  std::unique_ptr<Scheduler> make_core();
  void log(const std::string& line) {
    if (opt_.echo) std::fprintf(stderr, "%s\n", line.c_str());
    if (opt_.log) out_.log.push_back(line);
  }
  std::string at() const { return "t=" + num(now_) + " "; }
  bool failed() const { return !out_.failure.empty(); }

  void step();
  void submit();
  void new_host(bool booted);
  void connect(std::uint32_t h, bool booted);
  void host_closes(std::uint32_t h, const char* why);
  void sched_close(int ci, const char* why);
  void host_lost_connection(std::uint32_t h);
  void send(std::uint32_t h, const Msg& m);
  void deliver_up(int ci, bool allow_duplicate);
  void deliver_down(int ci);
  void failover();
  void quiesce();

  // After each call into the core: drain and route its commands and notices, then check.
  void drained();
  void check_invariants(const std::vector<Command>& cmds);
  void compare_replay(const std::vector<Task>& old_tasks, std::uint64_t old_unfinished);

  std::vector<std::uint32_t> hosts_where(bool (*pred)(const Host&)) const {
    std::vector<std::uint32_t> v;
    for (std::uint32_t i = 0; i < hosts_.size(); ++i) {
      if (pred(hosts_[i])) v.push_back(i);
    }
    return v;
  }

  Choices& c_;
  Options opt_;
  Outcome out_;

  std::string policy_;
  SchedulerConfig config_;
  double grace_ = 0;
  std::unique_ptr<Scheduler> core_;
  Time now_ = 0;
  std::uint64_t max_epoch_ = 0;

  std::vector<Host> hosts_;
  std::vector<Conn> conns_;               // this leader's connections
  std::map<WorkerId, int> conn_of_;       // this leader's worker -> its connection
  std::uint32_t boot_tokens_ = 0;         // scale-outs asked for, not joined or failed
  std::uint32_t booted_names_ = 0;
  std::vector<JournalRecord> journal_;

  std::vector<TaskState> prev_state_;     // per task, after the last check
  std::vector<std::uint32_t> completions_;  // per task, across leaders
  std::vector<std::uint32_t> journaled_finished_;
  std::set<WorkerId> dispatched_to_;      // workers that got a dispatch in this core call
};

std::optional<WorkerId> CheckedPolicy::pick(const ClusterState& cluster, const Task& task, Rng& rng) {
  const std::optional<WorkerId> w = inner_->pick(cluster, task, rng);
  if (w) h_->check_pick(cluster, *w);
  return w;
}

bool eligible_by_state(const ClusterState& cluster, const Worker& w) {
  if (!w.alive || w.suspected || w.quarantined || w.draining) return false;
  return cluster.queue_cap() < 0 || w.in_system < static_cast<std::uint32_t>(w.spec.slots + cluster.queue_cap());
}

void Harness::check_pick(const ClusterState& cluster, WorkerId w) {
  std::vector<int> listed(cluster.size(), 0);
  for (WorkerId e : cluster.eligible()) {
    if (e >= cluster.size() || ++listed[e] > 1) fail("eligible list names worker " + std::to_string(e) + " twice or out of range");
  }
  for (WorkerId i = 0; i < cluster.size(); ++i) {
    const bool want = eligible_by_state(cluster, cluster.worker(i));
    if (want != (listed[i] == 1) || want != cluster.is_eligible(i)) {
      fail("eligible set wrong for worker " + std::to_string(i) + " at a pick (should be " + (want ? "" : "in") + "eligible)");
    }
  }
  if (w >= cluster.size()) {
    fail("policy picked worker " + std::to_string(w) + " out of range");
    return;
  }
  const Worker& worker = cluster.worker(w);
  if (!eligible_by_state(cluster, worker)) {
    fail("policy picked worker " + std::to_string(w) + " that may not take a task (alive " + std::to_string(worker.alive) +
         ", suspected " + std::to_string(worker.suspected) + ", quarantined " + std::to_string(worker.quarantined) +
         ", draining " + std::to_string(worker.draining) + ", in_system " + std::to_string(worker.in_system) + ")");
  }
}

void Harness::configure() {
  std::vector<std::string> policies = policy_names();
  policies.push_back("power_of_d:d=3");
  policies.push_back("learned:d=2");
  policy_ = policies[c_.pick(static_cast<std::uint32_t>(policies.size()))];
  SchedulerConfig& k = config_;
  k.seed = 1 + c_.pick(1000);
  k.queue_cap = one_of(c_, {-1, 0, 1, 3});
  k.epoch = 1;
  k.max_attempts = one_of(c_, {1u, 2u, 3u, 5u});
  switch (c_.pick(4)) {
    case 0: break;
    case 1: k.suspect_after = 2; k.dead_after = 5; break;
    case 2: k.dead_after = 4; break;
    case 3: k.suspect_after = 3; break;
  }
  k.detector_period = one_of(c_, {0.5, 1.0, 2.0});
  k.retry_backoff = one_of(c_, {0.0, 0.0, 0.5, 3.0});
  k.task_timeout = one_of(c_, {0.0, 0.0, 4.0, 15.0});
  k.quarantine_after = one_of(c_, {0u, 0u, 1u, 2u});
  k.quarantine_window = one_of(c_, {5.0, 60.0});
  k.quarantine_for = one_of(c_, {3.0, 20.0});
  k.backlog_alert = one_of(c_, {0ull, 4ull});
  k.priority = one_of(c_, {SchedulerConfig::Priority::kFifo, SchedulerConfig::Priority::kCriticalPath,
                           SchedulerConfig::Priority::kRandom});
  k.network_latency = one_of(c_, {0.0, 0.01});
  if (c_.pick(3) == 0) {
    AutoscaleConfig& a = k.autoscale;
    a.enabled = true;
    a.metric = c_.pick(2) ? AutoscaleConfig::Metric::kBacklog : AutoscaleConfig::Metric::kUtilisation;
    a.target = one_of(c_, {0.5, 0.8});
    a.min_workers = one_of(c_, {1u, 2u});
    a.max_workers = one_of(c_, {3u, 6u});
    a.period = one_of(c_, {1.0, 3.0});
    a.window = a.period * one_of(c_, {1.0, 3.0});
    a.scale_out_cooldown = one_of(c_, {0.0, 5.0});
    a.scale_in_cooldown = one_of(c_, {0.0, 10.0});
    a.scale_in_after = one_of(c_, {1u, 2u});
  }
  // Tenants: fair sharing (late binding), quotas and limits, and preemption.
  if (c_.pick(3) == 0) {
    k.queue_cap = 0;
    k.fairness = c_.pick(2) ? SchedulerConfig::Fairness::kDrf : SchedulerConfig::Fairness::kRunningTasks;
    k.tenants = {TenantSpec{"A", one_of(c_, {1.0, 2.0}), Resources{.cores = one_of(c_, {0.0, 1.0, 2.0})}, {}},
                 TenantSpec{"B", 1, {}, Resources{.cores = one_of(c_, {0.0, 2.0})}}};
    k.preemption.enabled = c_.pick(2) == 0;
    k.preemption.grace = one_of(c_, {0.0, 2.0});
    k.preemption.requeue = c_.pick(4) != 0;
  }
  grace_ = one_of(c_, {0.0, 1.0, 4.0});
  std::ostringstream s;
  s << "config: policy=" << policy_ << " seed=" << k.seed << " queue_cap=" << k.queue_cap
    << " max_attempts=" << k.max_attempts << " suspect_after=" << k.suspect_after << " dead_after=" << k.dead_after
    << " detector_period=" << k.detector_period << " retry_backoff=" << k.retry_backoff
    << " task_timeout=" << k.task_timeout << " quarantine_after=" << k.quarantine_after
    << " quarantine_window=" << k.quarantine_window << " quarantine_for=" << k.quarantine_for
    << " backlog_alert=" << k.backlog_alert << " priority=" << static_cast<int>(k.priority)
    << " network_latency=" << k.network_latency << " grace=" << grace_;
  if (k.fairness != SchedulerConfig::Fairness::kNone) {
    s << " fairness=" << static_cast<int>(k.fairness) << " A(weight=" << k.tenants[0].weight
      << " quota=" << k.tenants[0].quota.cores << ") B(limit=" << k.tenants[1].limit.cores << ")";
    if (k.preemption.enabled) {
      s << " preemption(grace=" << k.preemption.grace << " requeue=" << k.preemption.requeue << ")";
    }
  }
  if (k.autoscale.enabled) {
    const AutoscaleConfig& a = k.autoscale;
    s << " autoscale(metric=" << to_string(a.metric) << " target=" << a.target << " min=" << a.min_workers
      << " max=" << a.max_workers << " period=" << a.period << " window=" << a.window
      << " cooldown_out=" << a.scale_out_cooldown << " cooldown_in=" << a.scale_in_cooldown
      << " scale_in_after=" << a.scale_in_after << ")";
  }
  log(s.str());
}

std::unique_ptr<Scheduler> Harness::make_core() {
  auto policy = make_policy(policy_);
  if (!policy.ok()) {
    fail("make_policy(" + policy_ + "): " + policy.error());
    policy = make_policy("round_robin");
  }
  return std::make_unique<Scheduler>(config_, std::make_unique<CheckedPolicy>(std::move(*policy), this));
}

Outcome Harness::run() {
  configure();
  core_ = make_core();
  max_epoch_ = config_.epoch;
  while (!failed() && out_.events < opt_.max_events && !c_.done()) {
    step();
    ++out_.events;
  }
  if (!failed() && opt_.quiesce) quiesce();
  out_.ok = out_.failure.empty();
  if (!out_.ok) log("FAILED: " + out_.failure);
  return out_;
}

void Harness::step() {
  // Weights of the event kinds.
  static constexpr std::uint8_t kWeight[kEventCount] = {
      /*kSubmit*/ 7, /*kNewHost*/ 2, /*kConnect*/ 5, /*kDisconnect*/ 3, /*kCrash*/ 2, /*kRestart*/ 2,
      /*kHeartbeat*/ 5, /*kHeartbeatAll*/ 4, /*kDeliverUp*/ 6, /*kDeliverDown*/ 8, /*kDeliverAll*/ 3,
      /*kStart*/ 10, /*kFinishOk*/ 9, /*kFinishFail*/ 3, /*kLag*/ 2, /*kAdvance*/ 5, /*kTick*/ 6,
      /*kCancelJob*/ 1, /*kFailover*/ 1, /*kBootJoin*/ 2, /*kBootFail*/ 1};
  std::uint32_t total = 0;
  for (std::uint8_t w : kWeight) total += w;
  std::uint32_t r = c_.pick(total);
  int e = 0;
  while (r >= kWeight[e]) r -= kWeight[e++];

  auto pick_of = [&](const std::vector<std::uint32_t>& v) { return v[c_.pick(static_cast<std::uint32_t>(v.size()))]; };
  switch (static_cast<Event>(e)) {
    case kSubmit:
      submit();
      break;
    case kNewHost:
      if (hosts_.size() < 8) new_host(false);
      break;
    case kConnect: {
      auto v = hosts_where([](const Host& h) { return h.up && !h.retired && h.conn < 0; });
      if (!v.empty()) connect(pick_of(v), false);
      break;
    }
    case kDisconnect: {
      auto v = hosts_where([](const Host& h) { return h.conn >= 0; });
      if (!v.empty()) host_closes(pick_of(v), "loses its connection");
      break;
    }
    case kCrash: {
      auto v = hosts_where([](const Host& h) { return h.up; });
      if (v.empty()) break;
      const std::uint32_t h = pick_of(v);
      Host& host = hosts_[h];
      log(at() + host.name + " crashes (" + std::to_string(host.executing.size()) + " executing lost)");
      host.up = false;
      host.executing.clear();
      host.queue.clear();
      host.unreported.clear();
      if (host.conn >= 0) host_closes(h, "crashed");
      break;
    }
    case kRestart: {
      auto v = hosts_where([](const Host& h) { return !h.up && !h.retired; });
      if (v.empty()) break;
      const std::uint32_t h = pick_of(v);
      hosts_[h].up = true;
      hosts_[h].lagging = false;
      log(at() + hosts_[h].name + " restarts");
      connect(h, false);
      break;
    }
    case kHeartbeat: {
      auto v = hosts_where([](const Host& h) { return h.up && h.conn >= 0; });
      if (!v.empty()) send(pick_of(v), Msg{Msg::Kind::kHeartbeat});
      break;
    }
    case kHeartbeatAll:
      for (std::uint32_t h = 0; h < hosts_.size() && !failed(); ++h) {
        if (hosts_[h].up && hosts_[h].conn >= 0) send(h, Msg{Msg::Kind::kHeartbeat});
      }
      break;
    case kDeliverUp: {
      std::vector<std::uint32_t> v;
      for (std::uint32_t i = 0; i < conns_.size(); ++i) {
        if (conns_[i].sched_open && (!conns_[i].outbox.empty() || conns_[i].close_pending)) v.push_back(i);
      }
      if (!v.empty()) deliver_up(static_cast<int>(pick_of(v)), true);
      break;
    }
    case kDeliverDown: {
      std::vector<std::uint32_t> v;
      for (std::uint32_t i = 0; i < conns_.size(); ++i) {
        if (conns_[i].host_open && !conns_[i].inbox.empty()) v.push_back(i);
      }
      if (!v.empty()) deliver_down(static_cast<int>(pick_of(v)));
      break;
    }
    case kDeliverAll:
      // Everything in flight arrives, both ways (a few rounds: answers make new messages),
      // except what lagging hosts send.
      for (int round = 0; round < 3 && !failed(); ++round) {
        for (std::size_t i = 0; i < conns_.size() && !failed(); ++i) {
          while (!failed() && conns_[i].host_open && !conns_[i].inbox.empty()) deliver_down(static_cast<int>(i));
          while (!failed() && conns_[i].sched_open && !hosts_[conns_[i].host].lagging &&
                 (!conns_[i].outbox.empty() || conns_[i].close_pending)) {
            deliver_up(static_cast<int>(i), false);
          }
        }
      }
      break;
    case kStart: {
      auto v = hosts_where([](const Host& h) {
        return h.up && !h.queue.empty() && h.executing.size() < static_cast<std::size_t>(h.spec.slots);
      });
      if (v.empty()) break;
      const std::uint32_t h = pick_of(v);
      Host& host = hosts_[h];
      const TaskId t = host.queue.front();
      host.queue.pop_front();
      const bool again = host.executing.count(t) > 0;
      host.executing[t] = now_;
      log(at() + host.name + " starts task " + std::to_string(t) + (again ? " (already executing it: restarted)" : ""));
      send(h, Msg{Msg::Kind::kStarted, t});
      break;
    }
    case kFinishOk:
    case kFinishFail: {
      auto v = hosts_where([](const Host& h) { return h.up && !h.executing.empty(); });
      if (v.empty()) break;
      const std::uint32_t h = pick_of(v);
      Host& host = hosts_[h];
      auto it = host.executing.begin();
      std::advance(it, c_.pick(static_cast<std::uint32_t>(host.executing.size())));
      const TaskId t = it->first;
      const Time start = it->second;
      host.executing.erase(it);
      const bool ok = e == kFinishOk;
      log(at() + host.name + (ok ? " finishes" : " fails") + " task " + std::to_string(t) + " (started " + num(start) +
          ")" + (host.conn < 0 ? ", unreported: not connected" : ""));
      if (host.conn >= 0) {
        send(h, Msg{Msg::Kind::kDone, t, ok, start});
      } else {
        host.unreported[t] = {ok, start};
      }
      break;
    }
    case kLag: {
      auto v = hosts_where([](const Host& h) { return h.up; });
      if (v.empty()) break;
      Host& host = hosts_[pick_of(v)];
      host.lagging = !host.lagging;
      log(at() + host.name + (host.lagging ? " lags: its messages wait in flight" : " stops lagging"));
      break;
    }
    case kAdvance: {
      now_ += one_of(c_, {0.1, 0.5, 1.0, 2.0, 5.0, 12.0, 40.0});
      log(at() + "time passes");
      break;
    }
    case kTick: {
      const Time wake = core_->next_wakeup();
      if (c_.pick(3) != 0) now_ = wake == kNever ? now_ + 1 : std::max(now_, wake);
      log(at() + "tick (next_wakeup was " + num(wake) + ")");
      core_->on_tick(now_);
      drained();
      break;
    }
    case kCancelJob: {
      if (core_->table().jobs.empty()) break;
      const JobId j = c_.pick(static_cast<std::uint32_t>(core_->table().jobs.size()));
      log(at() + "client cancels job " + std::to_string(j));
      JobCancelled record;
      record.job = j;
      record.time = now_;
      set_attempts(record, core_->table());
      journal_.push_back(record);
      core_->on_job_cancelled(now_, j);
      drained();
      break;
    }
    case kFailover:
      if (out_.failovers < 4) failover();
      break;
    case kBootJoin:
      if (boot_tokens_ > 0 && hosts_.size() < 10) {
        --boot_tokens_;
        new_host(true);
      }
      break;
    case kBootFail:
      if (boot_tokens_ > 0) {
        --boot_tokens_;
        log(at() + "a booting worker fails: on_scale_out_failed(1)");
        core_->on_scale_out_failed(now_, 1);
        drained();
      }
      break;
    case kEventCount:
      break;
  }
}

void Harness::submit() {
  if (core_->table().tasks.size() >= 80) return;
  JobSpec job;
  const std::uint32_t n = 1 + c_.pick(5);
  for (std::uint32_t i = 0; i < n; ++i) {
    TaskSpec t;
    t.kind = TaskKind::kSleep;
    t.flops = one_of(c_, {0.0, 1e8, 1e9, 5e9});
    t.priority = one_of(c_, {0.0, 0.0, 1.0, 2.0});
    if (i > 0) {
      const std::uint32_t parents = c_.pick(std::min<std::uint32_t>(i, 3) + 1);
      for (std::uint32_t k = 0; k < parents; ++k) {
        const std::uint32_t p = c_.pick(i);
        if (std::find(t.parents.begin(), t.parents.end(), p) == t.parents.end()) t.parents.push_back(p);
      }
      if (!t.parents.empty() && c_.pick(3) == 0) t.parent_bytes.assign(t.parents.size(), 1e6);
    }
    if (c_.pick(4) == 0) t.cost = {{"h0", 1.5}, {"h1", 3.0}};
    job.tasks.push_back(std::move(t));
  }
  if (config_.fairness != SchedulerConfig::Fairness::kNone) {
    job.tenant = one_of(c_, {std::string("A"), std::string("B"), std::string("C"), std::string()});
    job.priority_class = one_of(c_, {0, 0, 1});
  }
  const JobId id = core_->table().jobs.size();
  const TaskId first = core_->table().tasks.size();
  std::string shape;
  for (std::uint32_t i = 0; i < n; ++i) {
    shape += " " + std::to_string(first + i) + "(" + num(job.tasks[i].flops);
    for (std::uint32_t p : job.tasks[i].parents) shape += " <" + std::to_string(first + p);
    shape += ")";
  }
  log(at() + "submit job " + std::to_string(id) + ":" + shape);
  JobAccepted record;
  record.job = id;
  record.submit = now_;
  record.spec = job;
  journal_.push_back(record);
  core_->on_job_submitted(now_, job);
  if (auto plan = plan_record(*core_, id, job)) journal_.push_back(std::move(*plan));
  drained();
}

void Harness::new_host(bool booted) {
  Host host;
  // A scale-out may power a retired host on again: it keeps its name (and its history).
  if (booted) {
    for (std::uint32_t i = 0; i < hosts_.size(); ++i) {
      if (hosts_[i].retired && c_.pick(2) == 0) {
        hosts_[i].retired = false;
        hosts_[i].up = true;
        hosts_[i].lagging = false;
        log(at() + "booted host " + hosts_[i].name + " powers on again");
        connect(i, true);
        return;
      }
    }
  }
  host.name = booted ? "b" + std::to_string(booted_names_++) : "h" + std::to_string(hosts_.size());
  host.spec.name = host.name;
  static const char* const kGroups[] = {"a", "b", "c"};
  host.spec.group = kGroups[c_.pick(3)];
  host.spec.slots = one_of(c_, {1, 2, 3});
  host.spec.speed = one_of(c_, {1e8, 1e9, 4e9});
  host.spec.weight = one_of(c_, {0.0, 0.0, 1.0, 7.0});
  log(at() + (booted ? "booted host " : "new host ") + host.name + " (slots " + std::to_string(host.spec.slots) +
      ", speed " + num(host.spec.speed) + ", weight " + num(host.spec.weight) + ", group " + host.spec.group + ")");
  hosts_.push_back(std::move(host));
  connect(static_cast<std::uint32_t>(hosts_.size() - 1), booted);
}

// The host registers on a new connection, claiming what it executes and what finished
// while it was not connected; once welcomed it reports the latter.
void Harness::connect(std::uint32_t h, bool booted) {
  Host& host = hosts_[h];
  std::vector<TaskId> claims;
  for (const auto& [t, start] : host.executing) claims.push_back(t);
  for (const auto& [t, result] : host.unreported) claims.push_back(t);
  std::string list;
  for (TaskId t : claims) list += " " + std::to_string(t);
  const WorkerId w = core_->on_worker_joined(now_, host.spec, claims, booted);
  log(at() + host.name + " registers" + (booted ? " (booted)" : "") + " claiming {" + list + " } -> worker " +
      std::to_string(w));
  out_.claims += claims.size();
  Conn conn;
  conn.host = h;
  conn.worker = w;
  for (const auto& [t, result] : host.unreported) conn.claimed_done.insert(t);
  conns_.push_back(std::move(conn));
  host.conn = static_cast<int>(conns_.size() - 1);
  conn_of_[w] = host.conn;
  drained();
  if (failed()) return;
  const auto unreported = std::move(host.unreported);
  host.unreported.clear();
  for (const auto& [t, result] : unreported) {
    if (failed() || hosts_[h].conn < 0) break;
    send(h, Msg{Msg::Kind::kDone, t, result.first, result.second});
  }
}

// The host's side of a connection closes (it lost it, crashed, or stopped): what the
// scheduler sees of that is chosen: the close after the messages in flight, at once (the
// messages lost), or never.
void Harness::host_closes(std::uint32_t h, const char* why) {
  const int ci = hosts_[h].conn;
  if (ci < 0) return;
  host_lost_connection(h);
  Conn& conn = conns_[ci];
  switch (c_.pick(3)) {
    case 0:
      conn.close_pending = true;
      log(at() + hosts_[h].name + " " + why + "; the scheduler will see the close of worker " +
          std::to_string(conn.worker) + " after " + std::to_string(conn.outbox.size()) + " messages in flight");
      if (conn.outbox.empty() && !hosts_[h].lagging) sched_close(ci, "closed");
      break;
    case 1:
      log(at() + hosts_[h].name + " " + why + "; connection reset, " + std::to_string(conn.outbox.size()) +
          " messages lost");
      conn.outbox.clear();
      sched_close(ci, "reset");
      break;
    default:
      log(at() + hosts_[h].name + " " + why + "; the scheduler never sees it (" + std::to_string(conn.outbox.size()) +
          " messages lost)");
      conn.outbox.clear();
      break;
  }
}

void Harness::host_lost_connection(std::uint32_t h) {
  Host& host = hosts_[h];
  if (host.conn < 0) return;
  Conn& conn = conns_[host.conn];
  conn.host_open = false;
  conn.inbox.clear();
  host.queue.clear();  // a worker drops its queue with its connection (real/worker_daemon.cc)
  host.conn = -1;
}

// The scheduler handles the close of a connection: on_worker_left.
void Harness::sched_close(int ci, const char* why) {
  Conn& conn = conns_[ci];
  if (!conn.sched_open) return;
  conn.sched_open = false;
  conn.close_pending = false;
  conn.outbox.clear();
  conn.inbox.clear();
  log(at() + "scheduler: connection of worker " + std::to_string(conn.worker) + " " + why + ": on_worker_left");
  const WorkerId w = conn.worker;
  core_->on_worker_left(now_, w);
  drained();
}

void Harness::send(std::uint32_t h, const Msg& m) {
  Host& host = hosts_[h];
  if (host.conn < 0) return;
  Conn& conn = conns_[host.conn];
  conn.outbox.push_back(m);
  if (!host.lagging && conn.outbox.size() == 1) deliver_up(host.conn, false);
}

void Harness::deliver_up(int ci, bool allow_duplicate) {
  Conn& conn = conns_[ci];
  if (!conn.sched_open) return;
  if (conn.outbox.empty()) {
    if (conn.close_pending) sched_close(ci, "closed");
    return;
  }
  const Msg m = conn.outbox.front();
  conn.outbox.pop_front();
  const WorkerId w = conn.worker;
  const std::string from = "from worker " + std::to_string(w) + " (" + hosts_[conn.host].name + ")";
  switch (m.kind) {
    case Msg::Kind::kHeartbeat:
      if (!core_->cluster().worker(w).alive) {
        // real/scheduler_daemon.cc: a worker declared dead must register anew.
        log(at() + "heartbeat " + from + ", declared dead: the driver closes its connection");
        const std::uint32_t h = conn.host;
        if (hosts_[h].conn == ci) host_lost_connection(h);
        sched_close(ci, "closed by the driver");
        return;
      }
      log(at() + "heartbeat " + from);
      core_->on_heartbeat(now_, w);
      drained();
      break;
    case Msg::Kind::kStarted: {
      const Task* t = m.task < core_->table().tasks.size() ? &core_->table().tasks[m.task] : nullptr;
      const bool stale = !t || t->state != TaskState::kQueued || t->worker != w;
      if (stale) ++out_.stale_reports;
      log(at() + "started(task " + std::to_string(m.task) + ") " + from + (stale ? " [stale]" : ""));
      core_->on_task_started(now_, m.task, w);
      drained();
      break;
    }
    case Msg::Kind::kDone: {
      conn.claimed_done.erase(m.task);
      const std::string name = hosts_[conn.host].name;
      // What the driver does with a report of success: it journals the completion only if
      // the core will record it (holds), then hands it to the core.
      auto finished = [&](const std::string& what) {
        const bool held = core_->holds(m.task, w);
        if (!held) ++out_.stale_reports;
        log(at() + what + "(task " + std::to_string(m.task) + ", started " + num(m.start) + ") " + from +
            (held ? "" : " [stale: not held]"));
        if (held) {
          TaskFinished record;
          record.task = m.task;
          record.start = m.start;
          record.end = now_;
          record.worker = name;
          record.attempts = core_->table().tasks[m.task].attempts;
          journal_.push_back(record);
          if (journaled_finished_.size() <= m.task) journaled_finished_.resize(m.task + 1, 0);
          if (++journaled_finished_[m.task] > 1) fail("task " + std::to_string(m.task) + " journaled finished twice");
        }
        core_->on_task_finished(now_, m.task, w, m.start);
        drained();
      };
      if (m.ok) {
        finished("finished");
        // The same message delivered twice.
        if (allow_duplicate && !failed() && c_.pick(4) == 0) finished("the same report again: finished");
      } else {
        const bool held = core_->holds(m.task, w);
        if (!held) ++out_.stale_reports;
        log(at() + "failed(task " + std::to_string(m.task) + ") " + from + (held ? "" : " [stale: not held]"));
        core_->on_task_failed(now_, m.task, w);
        drained();
      }
      break;
    }
  }
  if (!failed() && conns_[ci].sched_open && conns_[ci].outbox.empty() && conns_[ci].close_pending &&
      !hosts_[conns_[ci].host].lagging) {
    sched_close(ci, "closed");
  }
}

void Harness::deliver_down(int ci) {
  Conn& conn = conns_[ci];
  if (!conn.host_open || conn.inbox.empty()) return;
  const Command cmd = conn.inbox.front();
  conn.inbox.pop_front();
  const std::uint32_t h = conn.host;
  Host& host = hosts_[h];
  switch (cmd.kind) {
    case Command::Kind::kDispatch:
      log(at() + host.name + " receives dispatch of task " + std::to_string(cmd.task));
      host.queue.push_back(cmd.task);
      break;
    case Command::Kind::kCancel: {
      // real/worker_daemon.cc: kill it if it runs (nothing is reported), else drop it from
      // the queue and from what waits to be reported.
      const bool killed = host.executing.erase(cmd.task) > 0;
      if (!killed) {
        std::erase(host.queue, cmd.task);
        host.unreported.erase(cmd.task);
      }
      log(at() + host.name + " receives cancel of task " + std::to_string(cmd.task) + (killed ? " (killed)" : ""));
      break;
    }
    case Command::Kind::kRetire:
      log(at() + host.name + " receives retire: it stops");
      host.up = false;
      host.retired = true;
      host.lagging = false;
      host.executing.clear();
      host.queue.clear();
      host.unreported.clear();
      host_lost_connection(h);
      conns_[ci].close_pending = true;
      deliver_up(ci, false);
      break;
    default:
      break;
  }
}

// The world turns benign: every close reaches the scheduler, hosts come back, stop lagging
// and work; messages flow, tasks run to success, heartbeats and ticks come in time. Then
// every task must end terminal, but for those blocked behind a parent that failed or was
// cancelled: a task that is neither is lost.
void Harness::quiesce() {
  log(at() + "QUIESCE: everything is delivered, every host works");
  for (std::size_t i = 0; i < conns_.size() && !failed(); ++i) {
    if (conns_[i].sched_open && !conns_[i].host_open) sched_close(static_cast<int>(i), "noticed at last");
  }
  for (Host& host : hosts_) host.lagging = false;
  if (std::none_of(hosts_.begin(), hosts_.end(), [](const Host& h) { return !h.retired; })) new_host(false);
  // A task may stay blocked (unfinished for good) only behind a parent that will never
  // finish: failed or cancelled, or itself blocked so.
  auto lost = [&]() {
    const auto& tasks = core_->table().tasks;
    std::vector<bool> doomed(tasks.size(), false);
    for (const Task& t : tasks) {
      if (t.state == TaskState::kFailed || t.state == TaskState::kCancelled || (doomed[t.id] && t.state == TaskState::kBlocked)) {
        for (TaskId c : t.children) doomed[c] = true;
      }
    }
    std::vector<TaskId> v;
    for (const Task& t : tasks) {
      if (!is_terminal(t.state) && !(t.state == TaskState::kBlocked && doomed[t.id])) v.push_back(t.id);
    }
    return v;
  };
  std::uint64_t last_unfinished = core_->tasks_unfinished();
  for (int round = 0, idle = 0; round < 2000 && idle < 200 && !failed() && !lost().empty(); ++round) {
    idle = core_->tasks_unfinished() == last_unfinished ? idle + 1 : 0;
    last_unfinished = core_->tasks_unfinished();
    while (boot_tokens_ > 0 && !failed() &&
           (hosts_.size() < 10 || std::any_of(hosts_.begin(), hosts_.end(), [](const Host& h) { return h.retired; }))) {
      --boot_tokens_;
      new_host(true);
    }
    for (std::uint32_t h = 0; h < hosts_.size() && !failed(); ++h) {
      if (!hosts_[h].retired && !hosts_[h].up) {
        hosts_[h].up = true;
        connect(h, false);
      } else if (!hosts_[h].retired && hosts_[h].conn < 0) {
        connect(h, false);
      }
    }
    for (std::size_t i = 0; i < conns_.size() && !failed(); ++i) {
      while (!failed() && conns_[i].host_open && !conns_[i].inbox.empty()) deliver_down(static_cast<int>(i));
      while (!failed() && conns_[i].sched_open && (!conns_[i].outbox.empty() || conns_[i].close_pending)) {
        deliver_up(static_cast<int>(i), false);
      }
    }
    for (std::uint32_t h = 0; h < hosts_.size() && !failed(); ++h) {
      Host& host = hosts_[h];
      while (host.up && !host.queue.empty() && host.executing.size() < static_cast<std::size_t>(host.spec.slots)) {
        const TaskId t = host.queue.front();
        host.queue.pop_front();
        host.executing[t] = now_;
        send(h, Msg{Msg::Kind::kStarted, t});
        if (failed()) return;
      }
    }
    now_ += 0.25;
    for (std::uint32_t h = 0; h < hosts_.size() && !failed(); ++h) {
      Host& host = hosts_[h];
      const auto executing = std::move(host.executing);
      host.executing.clear();
      for (const auto& [t, start] : executing) {
        if (failed()) return;
        if (hosts_[h].conn >= 0) {
          send(h, Msg{Msg::Kind::kDone, t, true, start});
        } else {
          hosts_[h].unreported[t] = {true, start};
        }
      }
      if (!failed() && hosts_[h].up && hosts_[h].conn >= 0) send(h, Msg{Msg::Kind::kHeartbeat});
    }
    if (failed()) return;
    const Time wake = core_->next_wakeup();
    now_ = wake == kNever ? now_ : std::max(now_, std::min(wake, now_ + 0.25));
    core_->on_tick(now_);
    drained();
  }
  if (failed()) return;
  if (const std::vector<TaskId> left = lost(); !left.empty()) {
    const Task& t = core_->table().tasks[left.front()];
    fail(std::to_string(left.size()) + " tasks lost, e.g. task " + std::to_string(t.id) + ": still " +
         std::string(to_string(t.state)) + " (worker " + std::to_string(t.worker) + ") after the world turned benign");
  }
}

void Harness::failover() {
  ++out_.failovers;
  const std::vector<Task> old_tasks = core_->table().tasks;
  const std::uint64_t old_unfinished = core_->tasks_unfinished();
  ++config_.epoch;
  log(at() + "FAILOVER: the leader dies; epoch " + std::to_string(config_.epoch) + " replays " +
      std::to_string(journal_.size()) + " records, grace " + num(grace_));
  core_ = make_core();
  DurableState durable;
  for (const JournalRecord& r : journal_) replay_record(*core_, r, durable);
  std::vector<Command> cmds;
  core_->take_commands(cmds);
  if (!cmds.empty()) fail("replay emitted " + std::to_string(cmds.size()) + " commands (first " + kind_name(cmds[0].kind) + ")");
  std::vector<Notice> notices;
  core_->take_notices(notices);
  compare_replay(old_tasks, old_unfinished);
  if (failed()) return;
  core_->begin_recovery(now_, grace_);
  // Every connection was to the old leader.
  for (Host& host : hosts_) {
    host.conn = -1;
    host.queue.clear();
  }
  conns_.clear();
  conn_of_.clear();
  dispatched_to_.clear();
  prev_state_.clear();
  for (const Task& t : core_->table().tasks) prev_state_.push_back(t.state);
  check_invariants({});
  // Some hosts reconnect at once, claiming what they run; the others later.
  for (std::uint32_t h = 0; h < hosts_.size() && !failed(); ++h) {
    if (hosts_[h].up && !hosts_[h].retired && c_.pick(2) == 0) connect(h, false);
  }
}

void Harness::compare_replay(const std::vector<Task>& old_tasks, std::uint64_t old_unfinished) {
  const auto& now_tasks = core_->table().tasks;
  if (now_tasks.size() != old_tasks.size()) {
    fail("replay: " + std::to_string(now_tasks.size()) + " tasks, the old leader had " + std::to_string(old_tasks.size()));
    return;
  }
  for (std::size_t i = 0; i < old_tasks.size(); ++i) {
    const Task& a = old_tasks[i];
    const Task& b = now_tasks[i];
    if (!is_terminal(a.state) && !is_terminal(b.state)) continue;
    if (a.state != b.state || a.attempts != b.attempts || a.start != b.start || a.end != b.end) {
      fail("replay: task " + std::to_string(i) + " was " + std::string(to_string(a.state)) + " attempts " +
           std::to_string(a.attempts) + " start " + num(a.start) + " end " + num(a.end) + ", replayed as " +
           std::string(to_string(b.state)) + " attempts " + std::to_string(b.attempts) + " start " + num(b.start) +
           " end " + num(b.end));
      return;
    }
  }
  if (core_->tasks_unfinished() != old_unfinished) {
    fail("replay: " + std::to_string(core_->tasks_unfinished()) + " tasks unfinished, the old leader had " +
         std::to_string(old_unfinished));
  }
}

void Harness::drained() {
  std::vector<Command> cmds;
  std::vector<Notice> notices;
  core_->take_commands(cmds);
  core_->take_notices(notices);
  for (const Command& c : cmds) {
    out_.digest = (out_.digest ^ (static_cast<std::uint64_t>(c.kind) + 1)) * 1099511628211ull;
    out_.digest = (out_.digest ^ c.task) * 1099511628211ull;
    out_.digest = (out_.digest ^ c.worker) * 1099511628211ull;
    out_.digest = (out_.digest ^ c.count) * 1099511628211ull;
    std::string line = "  -> " + std::string(kind_name(c.kind));
    switch (c.kind) {
      case Command::Kind::kDispatch:
      case Command::Kind::kCancel: {
        ++(c.kind == Command::Kind::kDispatch ? out_.dispatches : out_.cancels);
        if (c.kind == Command::Kind::kDispatch) dispatched_to_.insert(c.worker);
        line += " task " + std::to_string(c.task) + " to worker " + std::to_string(c.worker);
        auto it = conn_of_.find(c.worker);
        if (it != conn_of_.end() && conns_[it->second].host_open && conns_[it->second].sched_open) {
          conns_[it->second].inbox.push_back(c);
        } else {
          line += " (lost: no connection)";
        }
        break;
      }
      case Command::Kind::kScaleOut:
        boot_tokens_ += c.count;
        out_.scale_outs += c.count;
        line += " " + std::to_string(c.count);
        break;
      case Command::Kind::kScaleIn:
        line += " worker " + std::to_string(c.worker);
        break;
      case Command::Kind::kRetire: {
        line += " worker " + std::to_string(c.worker);
        auto it = conn_of_.find(c.worker);
        if (it != conn_of_.end() && conns_[it->second].host_open && conns_[it->second].sched_open) {
          conns_[it->second].inbox.push_back(c);
        }
        break;
      }
    }
    log(line);
  }
  for (const Notice& n : notices) {
    out_.digest = (out_.digest ^ (static_cast<std::uint64_t>(n.kind) + 100)) * 1099511628211ull;
    out_.digest = (out_.digest ^ n.task) * 1099511628211ull;
    out_.digest = (out_.digest ^ n.worker) * 1099511628211ull;
    switch (n.kind) {
      case Notice::Kind::kTaskFailed: {
        // Failed for good: journaled (as sim/records.cc does on this notice).
        ++out_.failed_for_good;
        TaskFailed record;
        record.task = n.task;
        record.end = n.time;
        record.attempts = core_->table().tasks[n.task].attempts;
        set_start(record, core_->table().tasks[n.task].start);
        journal_.push_back(record);
        break;
      }
      case Notice::Kind::kWorkerDead: ++out_.deaths; break;
      case Notice::Kind::kTaskTimedOut: ++out_.timeouts; break;
      case Notice::Kind::kTaskPreempted: ++out_.preemptions; break;
      case Notice::Kind::kWorkerQuarantined: ++out_.quarantines; break;
      default: break;
    }
    log("  .. " + std::string(to_string(n.kind)) + (n.worker == kNoWorker ? "" : " worker " + std::to_string(n.worker)) +
        (n.kind == Notice::Kind::kTaskFailed || n.kind == Notice::Kind::kTaskRetry || n.kind == Notice::Kind::kTaskTimedOut
             ? " task " + std::to_string(n.task)
             : ""));
  }
  check_invariants(cmds);
  dispatched_to_.clear();
}

void Harness::check_invariants(const std::vector<Command>& cmds) {
  const Scheduler& s = *core_;
  const auto& tasks = s.table().tasks;
  const ClusterState& cluster = s.cluster();
  const std::size_t n = tasks.size();
  auto T = [](TaskId t) { return "task " + std::to_string(t); };
  auto W = [](WorkerId w) { return "worker " + std::to_string(w); };

  // Workers and where each task is.
  std::vector<std::uint8_t> in_queue(n, 0), in_running(n, 0);
  std::vector<WorkerId> on(n, kNoWorker);
  std::vector<int> listed(cluster.size(), 0);
  for (WorkerId e : cluster.eligible()) {
    if (e >= cluster.size() || ++listed[e] > 1) return fail("eligible list names " + W(e) + " twice or out of range");
  }
  for (WorkerId w = 0; w < cluster.size(); ++w) {
    const Worker& worker = cluster.worker(w);
    for (TaskId t : worker.queue) {
      if (t >= n) return fail(W(w) + " queues unknown " + T(t));
      if (in_queue[t]++ || in_running[t]) return fail(T(t) + " is on more than one list (again in " + W(w) + "'s queue)");
      on[t] = w;
    }
    for (TaskId t : worker.running) {
      if (t >= n) return fail(W(w) + " runs unknown " + T(t));
      if (in_running[t]++ || in_queue[t]) return fail(T(t) + " is on more than one list (again in " + W(w) + "'s running)");
      on[t] = w;
    }
    if (worker.in_system != worker.queue.size() + worker.running.size()) {
      return fail(W(w) + " in_system " + std::to_string(worker.in_system) + " != queue " +
                  std::to_string(worker.queue.size()) + " + running " + std::to_string(worker.running.size()));
    }
    if (!worker.alive && worker.in_system != 0) return fail("dead " + W(w) + " holds " + std::to_string(worker.in_system) + " tasks");
    std::size_t allowance = 0;
    if (auto it = conn_of_.find(w); it != conn_of_.end()) {
      for (TaskId t : worker.running) allowance += conns_[it->second].claimed_done.count(t);
    }
    if (worker.running.size() > static_cast<std::size_t>(worker.spec.slots) + allowance) {
      return fail(W(w) + " runs " + std::to_string(worker.running.size()) + " tasks on " +
                  std::to_string(worker.spec.slots) + " slots");
    }
    if (dispatched_to_.count(w) && cluster.queue_cap() >= 0 &&
        worker.in_system > static_cast<std::uint32_t>(worker.spec.slots + cluster.queue_cap())) {
      return fail(W(w) + " was dispatched to beyond slots + queue_cap: in_system " + std::to_string(worker.in_system));
    }
    const bool want = eligible_by_state(cluster, worker);
    if (want != (listed[w] == 1) || want != cluster.is_eligible(w)) {
      return fail("eligible set wrong for " + W(w) + " (should be " + (want ? "" : "in") + "eligible)");
    }
  }

  // Tasks: one state, one place; readiness; counts.
  std::vector<std::uint32_t> unfinished_parents(n, 0);
  for (const Task& t : tasks) {
    for (TaskId child : t.children) {
      if (child >= n || child <= t.id) return fail(T(t.id) + " has a bad child " + std::to_string(child));
      if (t.state != TaskState::kFinished) ++unfinished_parents[child];
    }
  }
  std::uint64_t unfinished = 0;
  std::vector<std::uint32_t> job_unfinished(s.table().jobs.size(), 0);
  if (prev_state_.size() < n) prev_state_.resize(n, TaskState::kBlocked);
  if (completions_.size() < n) completions_.resize(n, 0);
  for (TaskId id = 0; id < n; ++id) {
    const Task& t = tasks[id];
    if (t.id != id) return fail(T(id) + " has id " + std::to_string(t.id));
    const std::string where = " (state " + std::string(to_string(t.state)) + ", worker " + std::to_string(t.worker) +
                              ", on lists of " + std::to_string(on[id]) + ")";
    switch (t.state) {
      case TaskState::kQueued:
        if (in_queue[id] != 1 || in_running[id] != 0 || on[id] != t.worker) return fail(T(id) + " misplaced" + where);
        break;
      case TaskState::kRunning:
        if (in_running[id] != 1 || in_queue[id] != 0 || on[id] != t.worker) return fail(T(id) + " misplaced" + where);
        break;
      default:
        if (in_queue[id] || in_running[id]) return fail(T(id) + " is on a worker's list" + where);
    }
    const bool terminal = is_terminal(t.state);
    if (terminal != (t.end >= 0)) return fail(T(id) + " end " + num(t.end) + where);
    if (!terminal) {
      ++unfinished;
      if (t.job < job_unfinished.size()) ++job_unfinished[t.job];
      if (t.unfinished_parents != unfinished_parents[id]) {
        return fail(T(id) + " counts " + std::to_string(t.unfinished_parents) + " unfinished parents, has " +
                    std::to_string(unfinished_parents[id]) + where);
      }
      if ((t.state == TaskState::kBlocked) != (t.unfinished_parents > 0)) {
        return fail(T(id) + " blocked with " + std::to_string(t.unfinished_parents) + " unfinished parents" + where);
      }
    }
    const TaskState before = prev_state_[id];
    if (is_terminal(before) && t.state != before) {
      return fail(T(id) + " left terminal state " + std::string(to_string(before)) + where);
    }
    if (t.state == TaskState::kFinished && before != TaskState::kFinished) {
      ++out_.completions;
      if (++completions_[id] > 1) return fail(T(id) + " completed a second time" + where);
    }
    prev_state_[id] = t.state;
  }
  if (unfinished != s.tasks_unfinished()) {
    return fail("tasks_unfinished() " + std::to_string(s.tasks_unfinished()) + " but " + std::to_string(unfinished) +
                " tasks are not terminal");
  }
  for (const Job& j : s.table().jobs) {
    if (j.unfinished != job_unfinished[j.id]) {
      return fail("job " + std::to_string(j.id) + " counts " + std::to_string(j.unfinished) + " unfinished, has " +
                  std::to_string(job_unfinished[j.id]));
    }
  }

  // Commands.
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    const Command& c = cmds[i];
    if (c.epoch != config_.epoch || c.epoch < max_epoch_) {
      return fail(std::string(kind_name(c.kind)) + " with epoch " + std::to_string(c.epoch) + " from the leader of epoch " +
                  std::to_string(config_.epoch));
    }
    max_epoch_ = std::max(max_epoch_, c.epoch);
    if (c.kind != Command::Kind::kDispatch) continue;
    if (c.worker >= cluster.size() || c.task >= n) return fail("dispatch of " + T(c.task) + " to unknown " + W(c.worker));
    const Worker& w = cluster.worker(c.worker);
    bool scaled_in_after = false;
    for (std::size_t k = i + 1; k < cmds.size(); ++k) {
      scaled_in_after |= cmds[k].kind == Command::Kind::kScaleIn && cmds[k].worker == c.worker;
    }
    if (!w.alive || w.suspected || w.quarantined || (w.draining && !scaled_in_after)) {
      return fail("dispatch of " + T(c.task) + " to " + W(c.worker) + " (alive " + std::to_string(w.alive) +
                  ", suspected " + std::to_string(w.suspected) + ", quarantined " + std::to_string(w.quarantined) +
                  ", draining " + std::to_string(w.draining) + ")");
    }
    if (tasks[c.task].state != TaskState::kQueued || tasks[c.task].worker != c.worker) {
      return fail("dispatch of " + T(c.task) + " to " + W(c.worker) + " but the task is " +
                  std::string(to_string(tasks[c.task].state)) + " on worker " + std::to_string(tasks[c.task].worker));
    }
    if (completions_[c.task] > 0) return fail("dispatch of " + T(c.task) + ", which completed before");
  }
}

}  // namespace

Outcome run(Choices& choices, const Options& options) {
  Harness h(choices, options);
  return h.run();
}

std::string describe(const Outcome& outcome) {
  std::string s;
  for (const std::string& line : outcome.log) s += line + "\n";
  if (!outcome.ok || !outcome.failure.empty()) s += "FAILURE: " + outcome.failure + "\n";
  return s;
}

}  // namespace fulcrum::harness
