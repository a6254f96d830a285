#include "sim/driver.h"

#include <simgrid/plugins/energy.h>
#include <simgrid/s4u.hpp>
#include <xbt/log.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>

#include "core/durable.h"
#include "scenario/scheduler_config.h"
#include "model/faults.h"
#include "core/scheduler.h"
#include "model/arrivals.h"
#include "policies/registry.h"
#include "sim/platform.h"
#include "workload/jobs.h"

namespace fulcrum::sim {
namespace sg4 = simgrid::s4u;

namespace {

// The events.csv kind of a fault event: a link fault says whether it cuts or degrades.
std::string event_kind(const FaultEvent& e) {
  if (e.kind == FaultEvent::Kind::kLinkStart) return e.cut ? "link_cut" : "link_degraded";
  if (e.kind == FaultEvent::Kind::kLinkEnd) return "link_restored";
  return to_string(e.kind);
}

// The distinct slowdown factors of a scenario, in order of first appearance.
std::vector<double> slowdown_factors(const Scenario& scenario) {
  std::vector<double> factors;
  for (const FaultSpec& f : scenario.faults) {
    if (f.kind == FaultSpec::Kind::kSlowdown && std::find(factors.begin(), factors.end(), f.factor) == factors.end()) {
      factors.push_back(f.factor);
    }
  }
  return factors;
}

// Size of a control message (dispatch, completion, heartbeat) on the wire.
constexpr std::uint64_t kControlMessageBytes = 1024;
constexpr std::uint64_t kProgressEvery = 4096;

struct DispatchMessage {
  TaskId task;
  double flops;
  WorkerId worker;      // the incarnation it was sent to
  std::uint64_t epoch;  // the leader that sent it
  std::uint64_t seq;    // dispatches in the order they were sent (a cancel names those before it)
};

struct WorkerMessage {
  enum class Kind : std::uint8_t { kHeartbeat, kStarted, kDone, kStop } kind;
  std::uint32_t host;
  WorkerId worker;
  TaskId task = 0;
  double started = 0;
};

// What the simulator knows of a host beside the core: its SimGrid objects, its current
// incarnation in the core, and what its executors are doing (the worker's own memory,
// which survives a leader failover but not a crash).
struct HostState {
  sg4::Host* host = nullptr;
  sg4::Link* link = nullptr;  // group form only
  double base_latency = 0;
  WorkerSpec spec;
  sg4::Mailbox* inbox = nullptr;  // where its dispatches go
  WorkerId current = kNoWorker;
  std::uint64_t registered_epoch = 0;  // the leader it is registered with (0: none)
  std::vector<sg4::ActorPtr> actors;
  std::set<TaskId> running;
  std::map<TaskId, double> unreported;  // finished while no leader listened: task -> start
  bool up = true;          // not crashed
  bool standby = false;    // powered off until a scale-out boots it (autoscaling)
  bool booting = false;    // powered on, its worker not started yet
  bool powered = true;     // for host_seconds: on since on_since
  double on_since = 0;
  double on_seconds = 0;   // powered-on time before on_since
  bool paused = false;
  bool cut = false;  // its link is down: what it sends is lost, so it keeps results
  // A pause freezes the host like SIGSTOP: running executions are suspended and no new
  // task starts until the pause ends. (Suspending the actors themselves would leave an
  // executor blocked in a receive unable to take messages after the resume.)
  std::map<TaskId, sg4::ExecPtr> execs;
  // Cancels that arrived before their task started computing (still in the mailbox, or
  // waiting for its inputs): task -> the last dispatch sent before the cancel. The
  // executor drops a dispatch of the task sent no later; one sent after (a retry) runs.
  std::map<TaskId, std::uint64_t> cancelled;
  sg4::MutexPtr mutex = sg4::Mutex::create();
  sg4::ConditionVariablePtr resumed = sg4::ConditionVariable::create();
};

class Simulation {
 public:
  Simulation(const Scenario& scenario, Platform platform, std::vector<DagJob> jobs, ProgressFn progress)
      : scenario_(scenario),
        platform_(std::move(platform)),
        trace_jobs_(std::move(jobs)),
        arrivals_(scenario.workload, scenario.seed),
        progress_(std::move(progress)),
        with_faults_(!scenario.faults.empty()),
        // Start reports let the core time attempts out and count the work a crash wastes.
        report_starts_(scenario.recovery.task_timeout > 0 || !scenario.faults.empty()),
        // The core cancels attempts only after a timeout or a fault.
        track_execs_(report_starts_),
        // The durable records matter only to a failover; without one they would cost a
        // record per task for nothing.
        keep_journal_(std::any_of(scenario.faults.begin(), scenario.faults.end(),
                                  [](const FaultSpec& f) { return f.kind == FaultSpec::Kind::kLeaderKill; })) {}

  Expected<bool> start() {
    std::vector<std::string> names, groups;
    for (std::size_t h = 0; h < platform_.hosts.size(); ++h) {
      HostState state;
      state.host = platform_.hosts[h];
      state.link = h < platform_.links.size() ? platform_.links[h] : nullptr;
      state.base_latency = state.link ? state.link->get_latency() : 0;
      state.spec = platform_.specs[h];
      state.inbox = sg4::Mailbox::by_name("worker-" + std::to_string(h));
      names.push_back(state.spec.name);
      groups.push_back(state.spec.group);
      host_index_[state.spec.name] = static_cast<std::uint32_t>(h);
      fastest_speed_ = std::max(fastest_speed_, state.spec.speed);
      host_specs_.push_back(state.spec);
      hosts_.push_back(std::move(state));
    }
    for (const FaultSpec& f : scenario_.faults) {
      const bool known = (f.host.empty() || std::find(names.begin(), names.end(), f.host) != names.end()) &&
                         (f.group.empty() || std::find(groups.begin(), groups.end(), f.group) != groups.end());
      if (!known) {
        return Error{scenario_.source + ":" + std::to_string(f.line) + ": faults: no host or group named '" +
                     f.host + f.group + "' on this platform"};
      }
      if (f.kind == FaultSpec::Kind::kLink && platform_.links.empty()) {
        return Error{scenario_.source + ":" + std::to_string(f.line) +
                     ": faults: link faults need a cluster of host groups (a platform's routes are shared)"};
      }
      if (f.kind == FaultSpec::Kind::kSlowdown && platform_.links.empty()) {
        return Error{scenario_.source + ":" + std::to_string(f.line) +
                     ": faults: slowdown faults need a cluster of host groups (SimGrid fixes a platform "
                     "file's host speeds when it loads it)"};
      }
    }
    timeline_ = std::make_unique<FaultTimeline>(scenario_.faults, names, groups, scenario_.seed);
    if (scenario_.autoscale.enabled) {
      const std::uint32_t most = scenario_.autoscale.max > 0 ? scenario_.autoscale.max : hosts_.size();
      if (most > hosts_.size() || scenario_.autoscale.min > hosts_.size()) {
        return Error{scenario_.source + ": autoscale: min and max must be at most the platform's " +
                     std::to_string(hosts_.size()) + " worker hosts"};
      }
    }
    new_leader(0);
    const std::uint32_t initial = scenario_.autoscale.enabled ? scenario_.autoscale.initial : hosts_.size();
    for (std::uint32_t h = 0; h < hosts_.size(); ++h) {
      if (h >= initial) {
        // Standby: off until a scale-out boots it.
        hosts_[h].host->turn_off();
        hosts_[h].standby = true;
        hosts_[h].powered = false;
        continue;
      }
      spawn_worker_actors(h);
      register_host(0, h);
    }
    sg4::Actor::create("submitter", platform_.scheduler, [this] { submitter_loop(); });
    if (with_faults_) sg4::Actor::create("faults", platform_.scheduler, [this] { fault_loop(); })->daemonize();
    return true;
  }

  RunRecords records() {
    const TaskTable& table = core_->table();
    RunRecords r;
    r.tasks.reserve(table.tasks.size());
    std::map<std::string, std::uint32_t> host_by_name;
    for (std::uint32_t h = 0; h < hosts_.size(); ++h) host_by_name[hosts_[h].spec.name] = h;
    for (const HostState& h : hosts_) {
      r.workers.push_back({h.spec.name, h.spec.group, h.spec.speed, h.spec.slots, 0, 0, 0});
    }
    // Records are per host, whatever incarnations it went through; a completion restored
    // from the journal names its host.
    for (const Task& t : table.tasks) {
      WorkerId host = kNoWorker;
      if (t.worker != kNoWorker) {
        host = host_of_[t.worker];
      } else if (t.id < durable_.finished_on.size() && !durable_.finished_on[t.id].empty()) {
        host = host_by_name.at(durable_.finished_on[t.id]);
      }
      if (t.state == TaskState::kFinished && host != kNoWorker) {
        ++r.workers[host].tasks;
        r.workers[host].busy_time += t.end - t.start;
      }
      r.tasks.push_back({t.id, t.job, t.flops, t.submit, t.dispatched, t.start, t.end, host, t.attempts, t.state});
    }
    r.events = std::move(events_);
    r.jobs = std::move(jobs_);
    r.summary = summarize(r.tasks, r.workers, retried_before_ + core_->tasks_retried());
    summarize_jobs(r.tasks, r.jobs, r.summary);
    r.summary.data_moved = bytes_moved(trace_jobs_, r.tasks);
    r.summary.wasted_work = wasted_before_ + core_->wasted_work();
    add_fault_metrics(r.events, r.summary);
    const double end = now();
    for (const HostState& h : hosts_) {
      r.summary.host_seconds += h.on_seconds + (h.powered ? end - h.on_since : 0);
      // The plugin brought every host up to date when the simulation ended.
      if (scenario_.measures_energy() && h.host->get_property("wattage_per_state") != nullptr) {
        r.summary.energy_joules += sg_host_get_consumed_energy(h.host);
      }
    }
    return r;
  }

 private:
  static double now() { return sg4::Engine::get_clock(); }

  SchedulerConfig config() const {
    SchedulerConfig c = scheduler_config(scenario_, hosts_.size());
    c.epoch = epoch_;
    return c;
  }

  // A leader takes office: a fresh core (the same code path as a restarted real
  // scheduler: replay of the durable records, then a grace period for claims).
  void new_leader(double t) {
    ++epoch_;
    if (core_) {
      retried_before_ += core_->tasks_retried();
      wasted_before_ += core_->wasted_work();
    }
    auto policy = make_policy(scenario_.policy);
    core_ = std::make_unique<Scheduler>(config(), std::move(*policy));
    durable_ = DurableState{};
    for (const JournalRecord& record : journal_) replay_record(*core_, record, durable_);
    std::vector<Notice> ignored;
    core_->take_notices(ignored);
    std::vector<Command> none;  // replay dispatches nothing: no worker has registered yet
    core_->take_commands(none);
    host_of_.clear();
    if (!journal_.empty()) core_->begin_recovery(t, scenario_.recovery.reconcile_grace);
    scheduler_mailbox_ = sg4::Mailbox::by_name("scheduler-" + std::to_string(epoch_));
    scheduler_actor_ = sg4::Actor::create("scheduler", platform_.scheduler, [this] { scheduler_loop(); });
    scheduler_mailbox_->set_receiver(scheduler_actor_);
    leader_up_ = true;
    if (epoch_ > 1) event(t, "leader_elected", "", "epoch " + std::to_string(epoch_) + ", replayed " +
                                                        std::to_string(journal_.size()) + " records");
    rearm_ticker();
  }

  void spawn_worker_actors(std::uint32_t h) {
    HostState& state = hosts_[h];
    sg4::Mailbox* inbox = state.inbox;
    state.actors.clear();
    for (int slot = 0; slot < state.spec.slots; ++slot) {
      sg4::ActorPtr executor = sg4::Actor::create("executor", state.host, [this, h, inbox] { executor_loop(h, inbox); });
      executor->daemonize();
      // Dispatches flow to the host as soon as they are sent (like TCP), not when a slot
      // asks for the next one; any executor of the host may then take them.
      if (slot == 0) inbox->set_receiver(executor);
      state.actors.push_back(executor);
    }
    if (with_faults_) {
      sg4::ActorPtr beat = sg4::Actor::create("heartbeat", state.host, [this, h] { heartbeat_loop(h); });
      beat->daemonize();
      state.actors.push_back(beat);
    }
  }

  // The host (re)registers with the current leader, claiming what it still runs and what
  // finished while nobody listened.
  void register_host(double t, std::uint32_t h, bool booted = false) {
    HostState& state = hosts_[h];
    if (state.current != kNoWorker && state.registered_epoch == epoch_) core_->on_worker_left(t, state.current);
    std::vector<TaskId> claimed(state.running.begin(), state.running.end());
    for (const auto& [task, started] : state.unreported) claimed.push_back(task);
    state.current = core_->on_worker_joined(t, state.spec, claimed, booted);
    if (host_of_.size() <= state.current) host_of_.resize(state.current + 1, kNoWorker);
    host_of_[state.current] = h;
    state.registered_epoch = epoch_;
    if (t > 0) event(t, "worker_registered", state.spec.name, fmt::format("claims {} tasks", claimed.size()));
    const auto unreported = std::move(state.unreported);
    state.unreported.clear();
    for (const auto& [task, started] : unreported) finished(t, task, state.current, started);
    apply();
  }

  void submitter_loop() {
    if (!trace_jobs_.empty()) {
      for (const DagJob& job : trace_jobs_) {
        sg4::this_actor::sleep_until(job.submit);
        submit(job.name, dag_job_spec(job, TaskKind::kSleep), critical_path_bound(job, host_specs_));
      }
    } else {
      Arrival arrival;
      while (arrivals_.next(arrival)) {
        sg4::this_actor::sleep_until(arrival.time);
        JobSpec job;
        job.tasks.push_back(TaskSpec{arrival.flops, {}});
        submit("", job, arrival.flops / fastest_speed_);
      }
    }
    arrivals_done_ = true;
    if (core_->tasks_unfinished() == 0) stop_scheduler();
  }

  // Submits one job (once a leader listens: a client retries through an election).
  void submit(const std::string& name, const JobSpec& job, double critical_path) {
    while (!leader_up_) sg4::this_actor::sleep_for(0.01);
    const TaskId first = core_->table().tasks.size();
    if (keep_journal_) journal_.push_back(JobAccepted{core_->table().jobs.size(), now(), job});
    // What executors need beyond flops (parents' data, per-host costs) exists only for
    // file workloads; synthetic runs skip the copy (it would be most of their memory).
    if (!trace_jobs_.empty()) {
      task_specs_.resize(first);
      for (const TaskSpec& t : job.tasks) {
        TaskSpec stored = t;
        for (std::uint32_t& p : stored.parents) p += static_cast<std::uint32_t>(first);  // absolute ids
        task_specs_.push_back(std::move(stored));
      }
    }
    jobs_.push_back(JobRecord{core_->table().jobs.size(), name, now(), -1, -1,
                              static_cast<std::uint32_t>(job.tasks.size()), 0, critical_path, true});
    const JobId id = core_->on_job_submitted(now(), job);
    if (keep_journal_) {
      if (auto plan = plan_record(*core_, id, job)) journal_.push_back(std::move(*plan));
    }
    apply();
  }

  void scheduler_loop() {
    std::uint64_t total = scenario_.workload.tasks;
    for (const DagJob& job : trace_jobs_) total += job.tasks.size();
    while (!(arrivals_done_ && core_->tasks_unfinished() == 0)) {
      std::unique_ptr<WorkerMessage> m;
      try {
        m.reset(scheduler_mailbox_->get<WorkerMessage>());
      } catch (const simgrid::NetworkFailureException&) {
        continue;  // the sender's host crashed or its link was cut mid-message: lost
      }
      if (m->kind == WorkerMessage::Kind::kStop) break;
      HostState& host = hosts_[m->host];
      if (m->worker != host.current || host.registered_epoch != epoch_) continue;  // an old incarnation
      const bool dead = !core_->cluster().worker(host.current).alive;
      if (dead) {
        // Declared dead but talking again (a cut link healed, a pause ended): like a real
        // worker it registers anew and claims what it still runs.
        if (m->kind == WorkerMessage::Kind::kHeartbeat) register_host(now(), m->host);
        continue;
      }
      switch (m->kind) {
        case WorkerMessage::Kind::kHeartbeat: core_->on_heartbeat(now(), host.current); break;
        case WorkerMessage::Kind::kStarted: core_->on_task_started(now(), m->task, host.current); break;
        case WorkerMessage::Kind::kDone: finished(now(), m->task, host.current, m->started); break;
        case WorkerMessage::Kind::kStop: break;
      }
      apply();
      if (progress_ && m->kind == WorkerMessage::Kind::kDone && ++progress_count_ % kProgressEvery == 0) {
        progress_(progress_count_, total);
      }
    }
    if (progress_) progress_(total, total);
    scheduler_mailbox_->set_receiver(nullptr);
    if (ticker_) ticker_->kill();
    ticker_ = nullptr;
  }

  void finished(double t, TaskId task, WorkerId w, double started) {
    const bool recorded = core_->holds(task, w);
    core_->on_task_finished(t, task, w, started);
    if (recorded && keep_journal_) {
      journal_.push_back(TaskFinished{task, started, t, hosts_[host_of_[w]].spec.name,
                                      core_->table().tasks[task].attempts, {}});
    }
  }

  void stop_scheduler() {
    if (stop_sent_) return;
    stop_sent_ = true;
    // Ends the scheduler loop, which may be waiting for a message.
    scheduler_mailbox_->put_init(new WorkerMessage{WorkerMessage::Kind::kStop, 0, kNoWorker}, 0)->detach();
  }

  void executor_loop(std::uint32_t h, sg4::Mailbox* inbox) {
    HostState& host = hosts_[h];
    for (;;) {
      std::unique_ptr<DispatchMessage> task;
      try {
        task.reset(inbox->get<DispatchMessage>());
      } catch (const simgrid::NetworkFailureException&) {
        continue;  // a dispatch lost on a cut link: the scheduler moves the task when it
                   // declares this worker dead
      }
      // Epoch fencing: a deposed leader's dispatch, or one for a past incarnation of this
      // host (whose tasks the scheduler already moved), is refused.
      if (task->epoch < epoch_ || task->worker != host.current) continue;
      if (cancelled_before(host, *task)) continue;
      if (host.paused) {
        std::unique_lock<sg4::Mutex> lock(*host.mutex);
        while (host.paused) host.resumed->wait(lock);
      }
      if (with_faults_) host.running.insert(task->task);
      // The slot is taken while the inputs arrive; the task starts computing after.
      receive_inputs(h, task->task);
      if (cancelled_before(host, *task)) {
        host.running.erase(task->task);
        continue;
      }
      const double started = now();
      if (report_starts_ && !host.cut) {
        send(h, WorkerMessage{WorkerMessage::Kind::kStarted, h, host.current, task->task, started});
      }
      const double flops = flops_on(h, task->task, task->flops);
      if (track_execs_) {
        // Kept where a pause can suspend it, a cancel stop it and a failover see it.
        sg4::ExecPtr exec = sg4::this_actor::exec_init(flops);
        host.execs[task->task] = exec;
        exec->start();
        try {
          exec->wait();
        } catch (const simgrid::CancelException&) {
          host.execs.erase(task->task);
          host.running.erase(task->task);
          continue;  // cancelled by the scheduler: the slot is free, nothing to report
        }
        host.execs.erase(task->task);
        host.running.erase(task->task);
      } else {
        sg4::this_actor::execute(flops);
      }
      if (leader_up_ && host.registered_epoch == epoch_ && !host.cut) {
        send(h, WorkerMessage{WorkerMessage::Kind::kDone, h, host.current, task->task, started});
      } else {
        host.unreported[task->task] = started;
      }
    }
  }

  // Waits for the data of the task's parents that ran on other hosts. An explicit `comm`
  // time runs from the parent's end (the data is pushed as soon as it exists, as HEFT and
  // the textbook examples assume); bytes are pulled over the modelled network when the
  // task takes its slot, all parents at once.
  void receive_inputs(std::uint32_t h, TaskId t) {
    if (t >= task_specs_.size() || task_specs_[t].parents.empty()) return;
    const TaskSpec& spec = task_specs_[t];
    std::vector<sg4::CommPtr> transfers;
    double data_ready = 0;
    for (std::size_t k = 0; k < spec.parents.size(); ++k) {
      const std::uint32_t from = host_of_task(spec.parents[k]);
      if (from == kNoWorker || from == h) continue;  // same host (or unknown): no transfer
      if (spec.parent_comm[k] >= 0) {
        data_ready = std::max(data_ready, core_->table().tasks[spec.parents[k]].end + spec.parent_comm[k]);
      } else if (spec.parent_bytes[k] > 0 && hosts_[from].up) {
        transfers.push_back(sg4::Comm::sendto_async(hosts_[from].host, hosts_[h].host,
                                                    static_cast<std::uint64_t>(spec.parent_bytes[k])));
      }
    }
    if (data_ready > now()) sg4::this_actor::sleep_until(data_ready);
    for (auto& transfer : transfers) {
      try {
        transfer->wait();
      } catch (const simgrid::Exception&) {
        // The source host died mid-transfer; the data is taken as delivered, as from a
        // replica: modelling re-execution of finished parents is out of scope.
      }
    }
  }

  std::uint32_t host_of_task(TaskId t) const {
    const Task& task = core_->table().tasks[t];
    if (task.worker != kNoWorker && task.worker < host_of_.size()) return host_of_[task.worker];
    if (t < durable_.finished_on.size() && !durable_.finished_on[t].empty()) {
      auto it = host_index_.find(durable_.finished_on[t]);
      if (it != host_index_.end()) return it->second;
    }
    return kNoWorker;
  }

  // A task with explicit costs takes its cost on this host (as flops at the host's speed).
  double flops_on(std::uint32_t h, TaskId t, double flops) const {
    if (t >= task_specs_.size() || task_specs_[t].cost.empty()) return flops;
    auto it = task_specs_[t].cost.find(hosts_[h].spec.name);
    return it == task_specs_[t].cost.end() ? flops : it->second * hosts_[h].spec.speed;
  }

  void heartbeat_loop(std::uint32_t h) {
    HostState& host = hosts_[h];
    for (;;) {
      if (leader_up_ && !host.cut && !host.paused) {
        if (host.registered_epoch != epoch_) {
          register_host(now(), h);  // what a Register message to the new leader does
        } else {
          send(h, WorkerMessage{WorkerMessage::Kind::kHeartbeat, h, host.current});
        }
      }
      sg4::this_actor::sleep_for(scenario_.recovery.heartbeat_interval);
    }
  }

  void send(std::uint32_t h, const WorkerMessage& m) {
    (void)h;
    scheduler_mailbox_->put_init(new WorkerMessage(m), kControlMessageBytes)->detach();
  }

  // Sends the core's commands and records its notices. The buffers are local: a send is a
  // simcall, during which another actor may call apply() with its own batch.
  void apply() {
    std::vector<Command> commands;
    std::vector<Notice> notices;
    core_->take_commands(commands);
    core_->take_notices(notices);
    for (const Notice& n : notices) on_notice(n);
    for (const Command& c : commands) {
      if (c.kind == Command::Kind::kDispatch) {
        hosts_[host_of_[c.worker]].inbox->put_init(new DispatchMessage{c.task, c.flops, c.worker, c.epoch, ++dispatch_seq_}, kControlMessageBytes)
            ->detach();
      } else if (c.kind == Command::Kind::kScaleOut) {
        boot(c.count);
      } else if (c.kind == Command::Kind::kRetire) {
        retire(host_of_[c.worker]);
      } else if (c.kind == Command::Kind::kCancel) {
        cancel(host_of_[c.worker], c.task);
      }
    }
    rearm_ticker();
    // The last task may end outside the scheduler loop (a claim flushed at registration,
    // a timeout on a tick): wake the loop so that it sees the run is over.
    if (arrivals_done_ && core_->tasks_unfinished() == 0) stop_scheduler();
  }

  // Scale-out: powers on `n` standby hosts (the first ones in host order); each worker joins
  // after the boot delay. Hosts that are not there are reported back to the core.
  void boot(std::uint32_t n) {
    const double t = now();
    std::uint32_t started = 0;
    for (std::uint32_t h = 0; h < hosts_.size() && started < n; ++h) {
      HostState& host = hosts_[h];
      if (!host.standby || !host.up) continue;
      ++started;
      host.standby = false;
      host.booting = true;
      host.host->turn_on();
      power_on(host, t);
      event(t, "boot", host.spec.name, fmt::format("joins after {:g} s", scenario_.autoscale.boot_delay));
      sg4::Actor::create("boot", platform_.scheduler, [this, h] {
        sg4::this_actor::sleep_for(scenario_.autoscale.boot_delay);
        HostState& booted = hosts_[h];
        if (!booted.booting) return;  // crashed meanwhile (the core was told)
        booted.booting = false;
        spawn_worker_actors(h);
        if (leader_up_) register_host(now(), h, /*booted=*/true);
      })->daemonize();
    }
    if (started < n) core_->on_scale_out_failed(t, n - started);
  }

  // A Cancel (a task timed out, a claim of a task done elsewhere, a cancelled job): the
  // host stops the task, as a worker kills its process, and the slot the core freed is
  // free here too. The message is modelled as instant; a host that cannot hear it (crashed,
  // cut off) runs the attempt to its end and its report is ignored.
  void cancel(std::uint32_t h, TaskId task) {
    HostState& host = hosts_[h];
    if (!host.up || host.cut || host.standby) return;
    if (host.unreported.erase(task) > 0) return;  // finished already; the result is dropped
    if (auto it = host.execs.find(task); it != host.execs.end()) {
      it->second->cancel();
    } else {
      host.cancelled[task] = dispatch_seq_;
    }
  }

  // Whether the scheduler cancelled this dispatch (a cancel is consumed by the first
  // dispatch of its task the host gets to, whether it drops it or runs a later one).
  static bool cancelled_before(HostState& host, const DispatchMessage& d) {
    auto it = host.cancelled.find(d.task);
    if (it == host.cancelled.end()) return false;
    const bool dropped = d.seq <= it->second;
    host.cancelled.erase(it);
    return dropped;
  }

  // Scale-in: the worker drained; its host powers off and is standby again.
  void retire(std::uint32_t h) {
    HostState& host = hosts_[h];
    if (!host.up || host.standby) return;
    host.inbox->set_receiver(nullptr);
    host.host->turn_off();
    power_off(host, now());
    host.standby = true;
    host.running.clear();
    host.cancelled.clear();
    host.execs.clear();
    host.unreported.clear();
    host.registered_epoch = 0;
    host.actors.clear();
  }

  static void power_on(HostState& host, double t) {
    if (host.powered) return;
    host.powered = true;
    host.on_since = t;
  }
  static void power_off(HostState& host, double t) {
    if (!host.powered) return;
    host.powered = false;
    host.on_seconds += t - host.on_since;
  }

  void on_notice(const Notice& n) {
    const std::string host = n.worker == kNoWorker || n.worker >= host_of_.size() ? "" : hosts_[host_of_[n.worker]].spec.name;
    if (n.kind == Notice::Kind::kTaskFailed && keep_journal_) {
      const Task& task = core_->table().tasks[n.task];
      journal_.push_back(TaskFailed{n.task, n.time, task.attempts, {}, task.start});
    }
    const std::string detail = notice_detail(n, scenario_.autoscale.metric == "backlog"
                                                    ? AutoscaleConfig::Metric::kBacklog
                                                    : AutoscaleConfig::Metric::kUtilisation);
    event(n.time, std::string(to_string(n.kind)), host, detail, n.alert);
  }

  void event(double t, std::string kind, std::string host, std::string detail, bool alert = false) {
    events_.push_back(EventRecord{t, std::move(kind), std::move(host), std::move(detail), alert});
  }

  // The core asks to be woken at next_wakeup(); one daemon actor sleeps until then, and is
  // replaced whenever the core wants to be woken earlier.
  void rearm_ticker() {
    const Time when = core_->next_wakeup();
    if (when >= ticker_target_ && ticker_) return;
    if (when == kNever) return;
    if (ticker_) ticker_->kill();
    ticker_target_ = when;
    ticker_ = sg4::Actor::create("ticker", platform_.scheduler, [this, when] {
      sg4::this_actor::sleep_until(when);
      ticker_ = nullptr;
      ticker_target_ = kNever;
      if (!leader_up_) return;
      core_->on_tick(now());
      apply();
      check_stuck();
    });
    ticker_->daemonize();
  }

  // Tasks can never finish when every host is down for good: end the run rather than wait
  // forever; what is unfinished is then reported as lost.
  void check_stuck() {
    if (!with_faults_ || !timeline_->empty() || !arrivals_done_) return;
    for (const HostState& h : hosts_) {
      if (h.up) return;
    }
    stop_scheduler();
  }

  void fault_loop() {
    FaultEvent e;
    while (timeline_->next(e)) {
      sg4::this_actor::sleep_until(e.time);
      const double t = now();
      if (e.kind == FaultEvent::Kind::kLeaderKill) {
        kill_leader(t);
        continue;
      }
      HostState& host = hosts_[e.host];
      const std::string& name = host.spec.name;
      event(t, event_kind(e), name, to_string(scenario_.faults[e.fault].kind) + " fault, line " +
                                            std::to_string(scenario_.faults[e.fault].line));
      switch (e.kind) {
        case FaultEvent::Kind::kCrash:
          if (!host.up || host.standby) break;  // a standby host is off already
          if (host.booting) {
            host.booting = false;
            if (leader_up_) core_->on_scale_out_failed(t, 1);
          }
          power_off(host, t);
          // Dispatches sent to it until it is declared dead wait in its mailbox, unmatched;
          // its next incarnation refuses them (they name this one). The simcalls come
          // first: other actors run during them, and must still see the host as it was.
          host.inbox->set_receiver(nullptr);
          host.host->turn_off();  // kills its actors and their executions
          host.up = false;
          host.paused = false;
          host.running.clear();
          host.cancelled.clear();
          host.execs.clear();
          host.unreported.clear();
          host.registered_epoch = 0;
          host.actors.clear();
          break;
        case FaultEvent::Kind::kRecover:
          if (host.up) break;
          host.host->turn_on();
          power_on(host, t);
          host.up = true;
          spawn_worker_actors(e.host);
          break;
        case FaultEvent::Kind::kSlowStart: {
          const auto& factors = slowdown_factors(scenario_);
          host.host->set_pstate(1 + (std::find(factors.begin(), factors.end(), e.factor) - factors.begin()));
          break;
        }
        case FaultEvent::Kind::kSlowEnd:
          host.host->set_pstate(0);
          break;
        case FaultEvent::Kind::kLinkStart:
          if (e.cut) {
            host.link->turn_off();
            host.cut = true;
          } else {
            host.link->set_latency(host.base_latency * e.factor);
          }
          break;
        case FaultEvent::Kind::kLinkEnd:
          if (e.cut) {
            host.link->turn_on();
            host.cut = false;
            // Like a TCP connection that broke: the worker reconnects and registers anew,
            // claiming what it runs and reporting what finished meanwhile; messages lost
            // in the cut are made good by that reconciliation.
            if (host.up && leader_up_) register_host(now(), e.host);
          } else {
            host.link->set_latency(host.base_latency);
          }
          break;
        case FaultEvent::Kind::kPauseStart:
          if (!host.up || host.paused) break;
          host.paused = true;
          for (auto& [task, exec] : host.execs) exec->suspend();
          break;
        case FaultEvent::Kind::kPauseEnd:
          if (!host.paused) break;
          host.paused = false;
          for (auto& [task, exec] : host.execs) exec->resume();
          host.resumed->notify_all();
          break;
        case FaultEvent::Kind::kLeaderKill:
          break;
      }
    }
    check_stuck();
  }

  void kill_leader(double t) {
    if (!leader_up_) return;
    event(t, "leader_kill", "", fmt::format("epoch {} stops; election takes {:g} s", epoch_,
                                            scenario_.recovery.election_delay), true);
    leader_up_ = false;
    if (ticker_) ticker_->kill();
    ticker_ = nullptr;
    ticker_target_ = kNever;
    scheduler_mailbox_->set_receiver(nullptr);
    // The election runs in an actor of its own that is not a daemon: with the scheduler
    // gone and arrivals over, it is what keeps the simulation going until a standby leads.
    sg4::Actor::create("election", platform_.scheduler, [this] {
      sg4::this_actor::sleep_for(scenario_.recovery.election_delay);
      new_leader(now());
    });
    scheduler_actor_->kill();
  }

  const Scenario& scenario_;
  Platform platform_;
  std::vector<DagJob> trace_jobs_;  // a file workload's jobs, by submit time (else empty)
  ArrivalStream arrivals_;
  ProgressFn progress_;
  const bool with_faults_;
  const bool report_starts_;
  const bool track_execs_;
  std::uint64_t dispatch_seq_ = 0;
  const bool keep_journal_;
  std::unique_ptr<Scheduler> core_;
  std::uint64_t epoch_ = 0;
  bool leader_up_ = false;
  std::vector<JournalRecord> journal_;  // the durable records, as a real leader's journal
  DurableState durable_;
  std::vector<HostState> hosts_;
  std::vector<std::uint32_t> host_of_;  // WorkerId of the current core -> host index
  std::map<std::string, std::uint32_t> host_index_;
  double fastest_speed_ = 0;
  std::vector<WorkerSpec> host_specs_;
  std::vector<TaskSpec> task_specs_;  // per TaskId, parents as absolute ids
  std::vector<JobRecord> jobs_;
  sg4::Mailbox* scheduler_mailbox_ = nullptr;
  sg4::ActorPtr scheduler_actor_;
  sg4::ActorPtr ticker_;
  Time ticker_target_ = kNever;
  std::unique_ptr<FaultTimeline> timeline_;
  std::vector<EventRecord> events_;
  bool arrivals_done_ = false;
  bool stop_sent_ = false;
  std::uint64_t progress_count_ = 0;
  std::uint64_t retried_before_ = 0;
  double wasted_before_ = 0;
};

}  // namespace

// Above this many worker slots (one actor each), actors get heap stacks without guards.
constexpr long long kGuardedActorsAtMost = 20'000;
constexpr int kLargeClusterStackKiB = 32;

Expected<RunRecords> run_simulation_in_process(const Scenario& scenario, const ProgressFn& progress) {
  if (auto policy = make_policy(scenario.policy); !policy) return Error{scenario.source + ": policy: " + policy.error()};
  xbt_log_control_set("root.thres:critical");
  int argc = 1;
  char name[] = "fulcrum";
  char* argv[] = {name, nullptr};
  sg4::Engine engine(&argc, argv);
  // Only runs that ask for energy pay for the plugin (a callback on every CPU action).
  if (scenario.measures_energy()) sg_host_energy_plugin_init();
  auto platform = build_platform(scenario.cluster, slowdown_factors(scenario),
                                 scenario.measures_energy() ? &scenario.power : nullptr);
  if (!platform) return Error{platform.error()};
  if (platform->hosts.empty()) return Error{scenario.source + ": cluster: no worker hosts"};
  // Every actor's stack is a mapping of its own, and its guard page splits it in two: past
  // some 30,000 actors a process exceeds Linux's vm.max_map_count (65,530 by default) and
  // SimGrid aborts. fulcrum's actors are shallow loops, so large clusters get small stacks
  // from the heap, without guard pages (no new mapping per actor).
  long long actors = 0;  // one executor per slot, and a heartbeat per host under faults
  for (const WorkerSpec& spec : platform->specs) actors += spec.slots + (scenario.faults.empty() ? 0 : 1);
  if (actors > kGuardedActorsAtMost) {
    sg4::Engine::set_config("contexts/guard-size:0");
    sg4::Engine::set_config("contexts/stack-size:" + std::to_string(kLargeClusterStackKiB));
  }
  std::vector<DagJob> jobs;
  if (!scenario.trace.type.empty()) {
    auto loaded = load_jobs(scenario.trace);
    if (!loaded) return Error{loaded.error()};
    jobs = std::move(*loaded);
  }
  Simulation simulation(scenario, std::move(*platform), std::move(jobs), progress);
  if (auto started = simulation.start(); !started) return Error{started.error()};
  engine.run();
  return simulation.records();
}

}  // namespace fulcrum::sim
