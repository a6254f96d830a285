// The scheduler daemon's handlers: what each wire message from a worker or a client means,
// one function per message, and what a closed connection means.
//
// Contract: a handler runs as the frame arrives, before the batch it joins is committed.
// It refuses at once what it can judge from the message and the state now (a malformed
// Register, a stale TaskDone, a Submit the journal could not hold), and queues the rest
// with enqueue(): the journal record, if any, joins this turn's group commit, and the
// lambda is applied to the core only after that commit, in arrival order. Ids a record
// names (job, task) are taken when it is journaled (next_job_, next_task_), since the core
// assigns them only when the batch is applied. Replies that acknowledge durable work are
// sent from the applied lambda, never before the commit.
#include "real/scheduler_daemon.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>

#include "results/metrics.h"

namespace fulcrum::real {

void SchedulerDaemon::on_message(const std::shared_ptr<Peer>& peer, Message&& message) {
  using Role = Peer::Role;
  if (!authorize(peer, message)) return;
  const bool is_worker_message = std::holds_alternative<Register>(message) ||
                                 std::holds_alternative<Heartbeat>(message) ||
                                 std::holds_alternative<TaskStarted>(message) || std::holds_alternative<TaskDone>(message);
  // An authenticated peer is what it proved to be: a client cannot register as a worker.
  if (const auto proven = peer->conn->peer_role();
      proven && peer->role == Role::kUnknown && (*proven == AuthRole::kWorker) != std::holds_alternative<Register>(message)) {
    peer->conn->close("protocol error: authenticated as a " + std::string(role_name(*proven)) + ", sent " +
                      std::string(message_name(message)));
    return;
  }
  if (peer->role == Role::kUnknown) {
    peer->role = std::holds_alternative<Register>(message) ? Role::kWorker : Role::kClient;
  }
  if (is_worker_message != (peer->role == Role::kWorker) ||
      (std::holds_alternative<Register>(message) && peer->worker != kNoWorker)) {
    peer->conn->close(std::string("protocol error: unexpected ") + std::string(message_name(message)));
    return;
  }

  if (const auto* m = std::get_if<Register>(&message)) {
    on_register(peer, *m);
  } else if (std::holds_alternative<Heartbeat>(message)) {
    on_heartbeat(peer);
  } else if (const auto* m = std::get_if<TaskStarted>(&message)) {
    on_task_started(peer, *m);
  } else if (auto* m = std::get_if<TaskDone>(&message)) {
    on_task_done(peer, *m);
  } else if (auto* m = std::get_if<Submit>(&message)) {
    on_submit(peer, *m);
  } else if (const auto* m = std::get_if<StatusRequest>(&message)) {
    on_status_request(peer, *m);
  } else if (const auto* m = std::get_if<CancelRequest>(&message)) {
    on_cancel_request(peer, *m);
  } else if (std::holds_alternative<RecordsRequest>(message)) {
    on_records_request(peer);
  } else if (std::holds_alternative<ShutdownRequest>(message)) {
    on_shutdown_request(peer);
  } else {
    peer->conn->close(std::string("protocol error: unexpected ") + std::string(message_name(message)));
  }
}

void SchedulerDaemon::on_register(const std::shared_ptr<Peer>& peer, const Register& m) {
  const WorkerSpec& spec = m.worker;
  if (spec.slots <= 0 || !(spec.speed > 0) || !(spec.weight >= 0) || !std::isfinite(spec.weight)) {
    peer->conn->send(ErrorReply{"Register: slots and speed must be positive and weight at least 0"});
    peer->conn->close("bad Register");
    return;
  }
  peer->name = spec.name;
  std::vector<TaskId> claimed(m.running.begin(), m.running.end());
  enqueue([this, peer, spec, claimed] {
    if (!peer->conn->open()) return;
    // A worker a scale-out started joins booted (it no longer counts as booting).
    const bool booted = booting_.erase(spec.name) > 0;
    peer->worker = core_->on_worker_joined(now(), spec, claimed, booted);
    if (workers_.size() <= peer->worker) workers_.resize(peer->worker + 1);
    workers_[peer->worker] = peer;
    peer->conn->send(Welcome{peer->worker, epoch_});
    audit(*peer, Action::kRegister, spec.name, true);
    log("worker " + spec.name + " joined as " + std::to_string(peer->worker) + " claiming " +
        std::to_string(claimed.size()) + " tasks");
  });
}

void SchedulerDaemon::on_heartbeat(const std::shared_ptr<Peer>& peer) {
  enqueue([this, peer] {
    if (peer->worker == kNoWorker) return;
    if (!core_->cluster().worker(peer->worker).alive) {
      // Declared dead while its connection stayed open (it was paused, or silent): it
      // must register anew and claim what it still runs.
      peer->conn->close("declared dead; register again");
      return;
    }
    core_->on_heartbeat(now(), peer->worker);
  });
}

void SchedulerDaemon::on_task_started(const std::shared_ptr<Peer>& peer, const TaskStarted& m) {
  const TaskId t = m.task;
  // Remembered now, not when applied: a TaskDone in the same batch needs it.
  if (t < next_task_) {
    if (started_at_.size() <= t) started_at_.resize(next_task_, -1);
    started_at_[t] = now();
  }
  enqueue([this, peer, t] { core_->on_task_started(now(), t, peer->worker); });
}

void SchedulerDaemon::on_task_done(const std::shared_ptr<Peer>& peer, TaskDone& m) {
  const TaskId t = m.task;
  TaskOutcome outcome = std::move(m.outcome);
  if (outcome.output.size() > kMaxOutputBytes) outcome.output.erase(0, outcome.output.size() - kMaxOutputBytes);
  const auto& table = core_->table();
  // Journal only a report the core will accept as final; stale ones are dropped here.
  if (peer->worker == kNoWorker || !core_->holds(t, peer->worker)) return;
  const double end = now();
  if (outcome.exit_code == 0) {
    const double start = t < started_at_.size() && started_at_[t] >= 0 ? started_at_[t] : table.tasks[t].dispatched;
    const JournalRecord record = TaskFinished{t, start, end, peer->name, table.tasks[t].attempts, outcome};
    enqueue([this, peer, t, start, end, outcome = std::move(outcome)] {
      durable_.outcomes[t] = outcome;
      const bool was_finished = core_->table().tasks[t].state == TaskState::kFinished;
      if (!was_finished && core_->holds(t, peer->worker)) {
        if (ended_at_.size() <= t) ended_at_.resize(t + 1, -1);
        ended_at_[t] = end;
      }
      core_->on_task_finished(now(), t, peer->worker, start);
      count_finished(t, was_finished);
    }, &record);
  } else if (core_->failure_is_final(t)) {
    const JournalRecord record = TaskFailed{t, end, table.tasks[t].attempts, outcome, table.tasks[t].start};
    failure_journaled_.insert(t);
    enqueue([this, peer, t, outcome = std::move(outcome)] {
      durable_.outcomes[t] = outcome;
      core_->on_task_failed(now(), t, peer->worker);
    }, &record);
  } else {
    enqueue([this, peer, t, outcome = std::move(outcome)] {
      durable_.outcomes[t] = outcome;
      core_->on_task_failed(now(), t, peer->worker);
    });
  }
}

void SchedulerDaemon::on_submit(const std::shared_ptr<Peer>& peer, Submit& m) {
  // A submitter's job belongs to its tenant, whatever the client wrote; an operator may
  // submit for any tenant.
  if (peer->grant && peer->grant->role == AccessRole::kSubmitter) m.job.tenant = peer->grant->tenant;
  if (auto ok = check_job_spec(m.job); !ok) {
    audit(*peer, Action::kSubmit, "", false, "Submit: " + ok.error());
    peer->conn->send(ErrorReply{"Submit: " + ok.error()});
    return;
  }
  if (m.request_id.size() > kMaxRequestId) {
    audit(*peer, Action::kSubmit, "", false, "request id too long");
    peer->conn->send(ErrorReply{"Submit: request id longer than " + std::to_string(kMaxRequestId) + " bytes"});
    return;
  }
  if (!m.request_id.empty()) {
    if (auto known = durable_.submissions.find(m.request_id); known != durable_.submissions.end()) {
      if (peer->grant && peer->grant->role == AccessRole::kSubmitter &&
          (known->second.job >= job_tenants_.size() || job_tenants_[known->second.job] != peer->grant->tenant)) {
        // Another tenant's request id: never reveal that job.
        refuse(peer, Action::kSubmit, "", "Submit: request id '" + m.request_id + "' was already used", false);
        return;
      }
      // A retry of a submission journaled before (perhaps by an earlier leader): the
      // same ids, once that record is committed (it may be in the batch being formed,
      // so the comparison with what was accepted waits for it to be applied too).
      const DurableState::Accepted a = known->second;
      enqueue([this, peer, a, id = m.request_id, tasks = std::move(m.job.tasks)] {
        const auto first = durable_.specs.begin() + static_cast<std::ptrdiff_t>(a.first_task);
        if (!std::equal(tasks.begin(), tasks.end(), first, first + a.count)) {
          peer->conn->send(ErrorReply{"Submit: request id '" + id + "' was already used for a different job"});
          return;
        }
        if (const std::string refused = refusal_of(a.first_task, a.count); !refused.empty()) {
          peer->conn->send(ErrorReply{"Submit: " + refused});
          return;
        }
        peer->conn->send(Submitted{a.job, a.first_task, a.count});
      });
      return;
    }
  }
  const std::uint64_t job = next_job_;
  const std::uint64_t first = next_task_;
  const JournalRecord record = JobAccepted{job, now(), m.job, m.request_id};
  // A record the journal cannot hold would fail the commit of its whole batch and stop
  // this scheduler (and, retried by the client, every leader after it): refuse the job.
  // Only a journal whose limit is below the wire's frame limit (ZooKeeper's) can see one.
  if (journal_->max_record_bytes() < kDefaultMaxFrame) {
    std::string encoded;
    if (const std::size_t length = encode_record(record, encoded); length > journal_->max_record_bytes()) {
      peer->conn->send(ErrorReply{"Submit: the job's journal record would be " + std::to_string(length) +
                                  " bytes, above the journal's limit of " +
                                  std::to_string(journal_->max_record_bytes()) + ": submit it as smaller jobs"});
      return;
    }
  }
  ++next_job_;
  if (job_tenants_.size() <= job) job_tenants_.resize(job + 1);
  job_tenants_[job] = m.job.tenant;
  audit(*peer, Action::kSubmit, "job " + std::to_string(job), true);
  const auto count = static_cast<std::uint32_t>(m.job.tasks.size());
  next_task_ += count;
  if (!m.request_id.empty()) durable_.submissions[m.request_id] = {job, first, count};
  enqueue([this, peer, job, first, count, spec = std::move(m.job)] {
    [[maybe_unused]] const JobId id = core_->on_job_submitted(now(), spec);
    assert(id == job && "job ids are assigned in journal order");
    // The plan is known only now: journaled after the job, so a crash before its commit
    // leaves a new leader to plan the job afresh.
    if (auto plan = plan_record(*core_, job, spec)) {
      const JournalRecord planned = std::move(*plan);
      enqueue([] {}, &planned);
    }
    durable_.specs.insert(durable_.specs.end(), spec.tasks.begin(), spec.tasks.end());
    durable_.outcomes.resize(durable_.specs.size());
    durable_.finished_on.resize(durable_.specs.size());
    if (const std::string refused = note_unschedulable(job, first, spec); !refused.empty()) {
      peer->conn->send(ErrorReply{"Submit: " + refused});
      return;
    }
    peer->conn->send(Submitted{job, first, count});
  }, &record);
}

// A task that fits no worker the core knows failed at submission (task_unschedulable) and
// its job's other tasks were cancelled. Each such task's outcome says why (reason
// "unschedulable"), and the failure and the cancellation are journaled, so that a replay
// that does not know the workers yet does not leave the task waiting. Returns the refusal
// for the client ("" when every task fits).
std::string SchedulerDaemon::note_unschedulable(std::uint64_t job, std::uint64_t first, const JobSpec& spec) {
  const auto& table = core_->table();
  bool any = false;
  for (std::size_t i = 0; i < spec.tasks.size(); ++i) {
    const std::uint64_t t = first + i;
    const Task& task = table.tasks[t];
    if (task.state != TaskState::kFailed || task.attempts != 0) continue;
    if (spec.gang) {
      // The gang as a whole does not fit: the core's words for it ("the gang of 5 tasks fits
      // no set of workers at once: cores: ..."), once, on its first task.
      const std::string why = i == 0 ? "task " + std::to_string(t) + ": " + core_->unschedulable(spec)
                                     : "task " + std::to_string(t) + ": its gang does not fit";
      TaskOutcome outcome{kUnschedulableExitCode, "[unschedulable: " + why + "]\n", "unschedulable"};
      durable_.outcomes[t] = outcome;
      const JournalRecord failed = TaskFailed{t, task.end, 0, outcome, -1};
      enqueue([] {}, &failed);
      any = true;
      continue;
    }
    // The core's words, for this task alone: "task 0 ('name') fits no worker: memory: ...".
    JobSpec alone;
    alone.tasks.push_back(spec.tasks[i]);
    alone.tasks.back().parents.clear();
    alone.tasks.back().parent_bytes.clear();
    alone.tasks.back().parent_comm.clear();
    std::string why = core_->unschedulable(alone);
    const std::size_t at = why.find("fits no worker");
    why = "task " + std::to_string(t) + (at == std::string::npos ? " fits no worker" : " " + why.substr(at));
    TaskOutcome outcome{kUnschedulableExitCode, "[unschedulable: " + why + "]\n", "unschedulable"};
    durable_.outcomes[t] = outcome;
    const JournalRecord failed = TaskFailed{t, task.end, 0, outcome, -1};
    enqueue([] {}, &failed);
    any = true;
  }
  if (!any) return "";
  const JournalRecord cancelled = cancel_record(*core_, job, now());
  enqueue([] {}, &cancelled);
  return refusal_of(first, static_cast<std::uint32_t>(spec.tasks.size()));
}

// The refusal of the job whose tasks are first..first+count: its unschedulable tasks' lines.
std::string SchedulerDaemon::refusal_of(std::uint64_t first, std::uint32_t count) const {
  std::string out;
  for (std::uint64_t t = first; t < first + count && t < durable_.outcomes.size(); ++t) {
    const TaskOutcome& o = durable_.outcomes[t];
    if (o.reason != "unschedulable") continue;
    std::string line = o.output;
    if (line.rfind("[unschedulable: ", 0) == 0) line = line.substr(16, line.size() - 16 - 2);
    out += (out.empty() ? "" : "; ") + line;
  }
  if (!out.empty() && count > 1) out += " (the job's other tasks are cancelled)";
  return out;
}

void SchedulerDaemon::on_status_request(const std::shared_ptr<Peer>& peer, const StatusRequest& m) {
  const std::uint64_t t = m.task;
  const bool wait = m.wait;
  enqueue([this, peer, t, wait] {
    if (t >= core_->table().tasks.size()) {
      peer->conn->send(ErrorReply{"no task " + std::to_string(t)});
    } else if (const std::string refused = tenant_refusal(*peer, t, wait ? "wait on" : "see"); !refused.empty()) {
      ++refused_requests_;
      peer->conn->send(ErrorReply{refused});
    } else if (wait && !is_terminal(core_->table().tasks[t].state)) {
      waiters_.emplace(t, peer);
    } else {
      peer->conn->send(status_of(t));
    }
  });
}

void SchedulerDaemon::on_cancel_request(const std::shared_ptr<Peer>& peer, const CancelRequest& m) {
  const std::uint64_t t = m.task;
  if (t >= next_task_) {
    peer->conn->send(ErrorReply{"no task " + std::to_string(t)});
    return;
  }
  // The task may still be in this batch; its job id is known once applied, so the
  // journal record is written by the apply step's own small commit.
  enqueue([this, peer, t] {
    const JobId job = core_->table().tasks[t].job;
    const std::string target = "task " + std::to_string(t);
    if (const std::string refused = tenant_refusal(*peer, t, "cancel"); !refused.empty()) {
      ++refused_requests_;
      audit(*peer, Action::kCancel, target, false, refused);
      if (audit_) (void)audit_->commit();
      peer->conn->send(ErrorReply{refused});
      return;
    }
    journal_->append(cancel_record(*core_, job, now()));
    if (auto c = journal_->commit(); !c) {
      peer->conn->send(ErrorReply{"journal: " + c.error()});
      return;
    }
    audit(*peer, Action::kCancel, target, true);
    if (audit_) (void)audit_->commit();
    core_->on_job_cancelled(now(), job);
    peer->conn->send(Ack{});
  });
}

void SchedulerDaemon::on_records_request(const std::shared_ptr<Peer>& peer) {
  enqueue([this, peer] {
    RecordsReply reply;
    RunRecords records = collect_records(core_->table(), core_->cluster(), core_->tasks_retried());
    // A completion restored from the journal names its worker; credit the worker of that
    // name that is connected now, if any.
    for (TaskRecord& t : records.tasks) {
      // The end its TaskFinished record journals, as a replay restores it (see ended_at_).
      if (t.state == TaskState::kFinished && t.id < ended_at_.size() && ended_at_[t.id] >= t.start && ended_at_[t.id] >= 0) {
        t.end = ended_at_[t.id];
      }
      if (t.worker != kNoWorker || t.id >= durable_.finished_on.size() || durable_.finished_on[t.id].empty()) continue;
      for (WorkerId w = core_->cluster().size(); w-- > 0;) {
        if (core_->cluster().worker(w).spec.name == durable_.finished_on[t.id]) {
          t.worker = w;
          break;
        }
      }
    }
    reply.tasks = std::move(records.tasks);
    reply.workers = std::move(records.workers);
    reply.tasks_retried = core_->tasks_retried();
    reply.wasted_work = core_->wasted_work();
    peer->conn->send(reply);
  });
}

void SchedulerDaemon::on_shutdown_request(const std::shared_ptr<Peer>& peer) {
  audit(*peer, Action::kShutdown, "", true);
  enqueue([this, peer] {
    peer->conn->send(Ack{});
    log("shutdown requested");
    // Let the Ack go out before the connections close.
    asio::post(io_, [this] { stop(); });
  });
}

void SchedulerDaemon::on_closed(const std::shared_ptr<Peer>& peer, const std::string& reason) {
  if (reason.rfind("authentication failed", 0) == 0) {
    // Refused peers are logged whatever --verbose says.
    std::fprintf(stderr, "fulcrum scheduler: refused %s: %s\n", peer->conn->peer().c_str(), reason.c_str());
  } else if (!reason.empty()) {
    log("closed " + peer->conn->peer() + " (" + peer->name + "): " + reason);
  }
  std::erase(peers_, peer);
  for (auto it = waiters_.begin(); it != waiters_.end();) it = it->second == peer ? waiters_.erase(it) : std::next(it);
  // A worker that closed before its Register was applied never joined (kNoWorker).
  if (peer->role == Peer::Role::kWorker && peer->worker != kNoWorker && !stopping_) {
    const WorkerId w = peer->worker;
    enqueue([this, w] { core_->on_worker_left(now(), w); });
  }
}

TaskStatus SchedulerDaemon::status_of(std::uint64_t t) const {
  const Task& task = core_->table().tasks[t];
  TaskStatus s;
  s.task = t;
  s.job = task.job;
  s.state = std::string(to_string(task.state));
  s.worker = task.worker == kNoWorker ? "" : core_->cluster().worker(task.worker).spec.name;
  s.attempts = task.attempts;
  s.submit = task.submit;
  s.start = task.start;
  s.end = task.end;
  s.outcome = durable_.outcomes[t];
  return s;
}

}  // namespace fulcrum::real
