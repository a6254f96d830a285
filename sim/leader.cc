// The scheduler host's side of a run: where events enter the core and commands leave it.
//
// Three actors on the scheduler host feed the one core: the submitter (the workload's
// arrivals, or a file's jobs, at their times), the scheduler loop (messages from hosts:
// heartbeats, starts, completions) and the ticker (the core's next_wakeup()). After each
// event, apply() drains the core's commands and notices and acts on them at once, so the
// core sees the world in the order SimGrid's clock gives it, and nothing else.
//
// The run ends when arrivals are over and no task is unfinished: whoever sees that last
// (the submitter, apply(), the fault injector through check_stuck()) sends the loop a kStop,
// once. A leader that is down (failover.cc) takes no submissions; the submitter waits for
// the next one, as a client retries through an election.
#include "sim/simulation.h"

namespace fulcrum::sim {

void Simulation::submitter_loop() {
  if (!trace_.jobs.empty()) {
    for (std::size_t j = 0; j < trace_.jobs.size(); ++j) {
      const DagJob& job = trace_.jobs[j];
      sg4::this_actor::sleep_until(job.submit);
      submit(job.name, trace_job_spec(trace_, j, scenario_.trace, TaskKind::kSleep),
             critical_path_bound(job, host_specs_));
    }
  } else {
    Arrival arrival;
    while (arrivals_.next(arrival)) {
      sg4::this_actor::sleep_until(arrival.time);
      // Task classes (their requests, constraints and sizes) and widths come from streams
      // of their own; without classes every task is one core and the arrival's size.
      const JobSpec job = classes_.next_job(arrival);
      submit("", job, arrival.flops / fastest_speed_);
    }
  }
  arrivals_done_ = true;
  if (core_->tasks_unfinished() == 0) stop_scheduler();
}

// Submits one job (once a leader listens: a client retries through an election).
void Simulation::submit(const std::string& name, const JobSpec& job, double critical_path) {
  while (!leader_up_) sg4::this_actor::sleep_for(0.01);
  const TaskId first = core_->table().tasks.size();
  if (keep_journal_) journal_.push_back(JobAccepted{core_->table().jobs.size(), now(), job});
  // What executors need beyond flops (parents' data, per-host costs) exists only for
  // file workloads; synthetic runs skip the copy (it would be most of their memory).
  if (!trace_.jobs.empty()) {
    task_specs_.resize(first);
    for (const TaskSpec& t : job.tasks) {
      TaskSpec stored = t;
      for (std::uint32_t& p : stored.parents) p += static_cast<std::uint32_t>(first);  // absolute ids
      task_specs_.push_back(std::move(stored));
    }
  }
  jobs_.push_back(job_record(core_->table().jobs.size(), name, now(), job, critical_path));
  for (std::size_t i = 0; i < job.tasks.size(); ++i) note_request(first + i, job.tasks[i].request);
  const JobId id = core_->on_job_submitted(now(), job);
  if (keep_journal_) {
    if (auto plan = plan_record(*core_, id, job)) journal_.push_back(std::move(*plan));
  }
  if (!batch_instants_) {
    apply();
    return;
  }
  // The completions of this instant reach the scheduler loop after this arrival: the pass
  // waits for them (a message sent now arrives after those sent at the same instant).
  apply(/*pass=*/false);
  if (!pass_requested_) {
    pass_requested_ = true;
    scheduler_mailbox_->put_init(new WorkerMessage{WorkerMessage::Kind::kPass, 0, kNoWorker}, 0)->detach();
  }
}

void Simulation::scheduler_loop() {
  std::uint64_t total = scenario_.workload.tasks;
  for (const DagJob& job : trace_.jobs) total += job.tasks.size();
  const auto receive = [&]() -> std::unique_ptr<WorkerMessage> {
    try {
      return std::unique_ptr<WorkerMessage>(scheduler_mailbox_->get<WorkerMessage>());
    } catch (const simgrid::NetworkFailureException&) {
      return nullptr;  // the sender's host crashed or its link was cut mid-message: lost
    }
  };
  bool stop = false;
  while (!stop && !(arrivals_done_ && core_->tasks_unfinished() == 0)) {
    std::unique_ptr<WorkerMessage> m = receive();
    if (!m) continue;
    if (!batch_instants_) {
      if (!handle(*m)) break;
      apply();
    } else {
      // Every message of this instant that is in, then one pass.
      stop = !handle(*m);
      apply(/*pass=*/false);
      while (!stop && scheduler_mailbox_->ready()) {
        m = receive();
        if (m) stop = !handle(*m);
        apply(/*pass=*/false);
      }
      pass_requested_ = false;
      apply();
    }
    if (progress_ && m && m->kind == WorkerMessage::Kind::kDone && ++progress_count_ % kProgressEvery == 0) {
      progress_(progress_count_, total);
    }
  }
  if (progress_) progress_(total, total);
  scheduler_done_ = true;
  scheduler_mailbox_->set_receiver(nullptr);
  if (ticker_) ticker_->kill();
  ticker_ = nullptr;
}

// A completion, journaled only when the core recorded it (a late or duplicate report from
// a worker the task is no longer assigned to is ignored by the core, and must not be
// replayed either).
void Simulation::finished(double t, TaskId task, WorkerId w, double started) {
  const bool recorded = core_->holds(task, w);
  core_->on_task_finished(t, task, w, started);
  if (recorded && keep_journal_) {
    journal_.push_back(TaskFinished{task, started, t, hosts_[host_of_[w]].spec.name,
                                    core_->table().tasks[task].attempts, {}});
  }
}

void Simulation::stop_scheduler() {
  if (stop_sent_) return;
  stop_sent_ = true;
  // Ends the scheduler loop, which may be waiting for a message.
  scheduler_mailbox_->put_init(new WorkerMessage{WorkerMessage::Kind::kStop, 0, kNoWorker}, 0)->detach();
}

bool Simulation::handle(const WorkerMessage& m) {
  if (m.kind == WorkerMessage::Kind::kStop) return false;
  if (m.kind == WorkerMessage::Kind::kPass) return true;
  HostState& host = hosts_[m.host];
  if (m.worker != host.current || host.registered_epoch != epoch_) return true;  // an old incarnation
  const bool dead = !core_->cluster().worker(host.current).alive;
  if (dead) {
    // Declared dead but talking again (a cut link healed, a pause ended): like a real
    // worker it registers anew and claims what it still runs.
    if (m.kind == WorkerMessage::Kind::kHeartbeat) register_host(now(), m.host);
    return true;
  }
  switch (m.kind) {
    case WorkerMessage::Kind::kHeartbeat: core_->on_heartbeat(now(), host.current); break;
    case WorkerMessage::Kind::kStarted: core_->on_task_started(now(), m.task, host.current); break;
    case WorkerMessage::Kind::kDone: finished(now(), m.task, host.current, m.started); break;
    case WorkerMessage::Kind::kTimedOut:
      if (core_->holds(m.task, host.current)) {
        on_notice(Notice{now(), Notice::Kind::kTaskTimedOut, host.current, m.task, now() - m.started});
      }
      core_->on_task_failed(now(), m.task, host.current);
      break;
    case WorkerMessage::Kind::kStop:
    case WorkerMessage::Kind::kPass: break;
  }
  return true;
}

// Sends the core's commands and records its notices. The buffers are local: a send is a
// simcall, during which another actor may call apply() with its own batch.
void Simulation::apply(bool pass) {
  if (batch_instants_ && pass) core_->on_instant_end(now());
  std::vector<Command> commands;
  std::vector<Notice> notices;
  core_->take_commands(commands);
  core_->take_notices(notices);
  for (const Notice& n : notices) on_notice(n);
  // Dispatches leave from the scheduler's host, whoever applies the commands (a worker's
  // heartbeat actor registering it): a gang's members then arrive together.
  const bool on_scheduler = sg4::this_actor::get_host() == platform_.scheduler;
  std::vector<std::pair<std::uint32_t, DispatchMessage>> relayed;
  for (const Command& c : commands) {
    if (c.kind == Command::Kind::kDispatch) {
      const DispatchMessage d{c.task, c.flops, c.worker, c.epoch, ++dispatch_seq_};
      if (on_scheduler) {
        hosts_[host_of_[c.worker]].inbox->put_init(new DispatchMessage(d), kControlMessageBytes)->detach();
      } else {
        relayed.emplace_back(host_of_[c.worker], d);
      }
    } else if (c.kind == Command::Kind::kScaleOut) {
      boot(c.count);
    } else if (c.kind == Command::Kind::kRetire) {
      retire(host_of_[c.worker]);
    } else if (c.kind == Command::Kind::kCancel) {
      cancel(host_of_[c.worker], c.task);
    }
  }
  if (!relayed.empty()) {
    sg4::Actor::create("dispatch", platform_.scheduler, [this, relayed = std::move(relayed)] {
      for (const auto& [h, d] : relayed) hosts_[h].inbox->put_init(new DispatchMessage(d), kControlMessageBytes)->detach();
    })->daemonize();
  }
  rearm_ticker();
  // The last task may end outside the scheduler loop (a claim flushed at registration,
  // a timeout on a tick): wake the loop so that it sees the run is over.
  if (arrivals_done_ && core_->tasks_unfinished() == 0) stop_scheduler();
}

// The core asks to be woken at next_wakeup(); one daemon actor sleeps until then, and is
// replaced whenever the core wants to be woken earlier.
void Simulation::rearm_ticker() {
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

}  // namespace fulcrum::sim
