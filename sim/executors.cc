// A host's executors: the worker side of a dispatch, from the host's mailbox to the report.
//
// A host runs by resources, with the worker's one rule (core/local_queue.h, the same in
// `fulcrum worker`): a dispatch it accepts waits in its LocalQueue, and tasks start, in FIFO
// order, as soon as the head's whole request (cores, memory, GPUs, any named resource)
// fits what the running tasks leave free. Cores reserve capacity; they do not speed a task
// up: a task computes its flops on one of the host's cores, at the host's speed, so it
// takes flops / speed whatever it asks for (a task asking for less than a core shares a
// core with others when more tasks than cores run at once, as SimGrid shares a CPU).
//
// Executor actors do the work. A host starts with one per core (`slots`), each the
// host's single-slot executor of old: it takes the next dispatch from the mailbox, refuses
// what is stale (a deposed leader's epoch, a past incarnation of its host, a cancelled
// attempt), puts it in the queue and, when it starts at once, runs it itself: waits out a
// pause, pulls its parents' data, computes and reports the start and the end. When one
// event starts several tasks (a large task ended, tasks waited behind it), the executor
// runs the first and creates an executor for each other; those extra executors end when
// they have nothing to run and the host has someone waiting for dispatches. So with
// one-core tasks a host behaves, simcall for simcall, as its `slots` executors always did.
// A result nobody can hear (leader down, link cut, host not registered with this leader)
// is kept in `unreported` and handed over at the next registration.
//
// Cancels are the leader's other command to a host: an attempt that is computing is
// stopped, one that waits in the queue leaves it, one that has not arrived yet (or waits
// for its inputs) is dropped when an executor reaches it.
#include "sim/simulation.h"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>

namespace fulcrum::sim {

namespace {

// Whether the scheduler cancelled this dispatch (a cancel is consumed by the first
// dispatch of its task the host gets to, whether it drops it or runs a later one).
bool cancelled_before(HostState& host, const DispatchMessage& d) {
  auto it = host.cancelled.find(d.task);
  if (it == host.cancelled.end()) return false;
  const bool dropped = d.seq <= it->second;
  host.cancelled.erase(it);
  return dropped;
}

// Epoch fencing: a deposed leader's dispatch, or one for a past incarnation of this host
// (whose tasks the scheduler already moved), is refused.
bool stale(const HostState& host, const DispatchMessage& d, std::uint64_t epoch) {
  return d.epoch < epoch || d.worker != host.current;
}

}  // namespace

// `stays`: one of the host's first executors, which waits for dispatches whenever it has
// nothing to run; an extra one ends then unless the host has nobody else waiting.
// `started`: dispatches that started and that this executor runs, first one first.
void Simulation::executor_loop(std::uint32_t h, bool stays, std::vector<DispatchMessage> started) {
  HostState& host = hosts_[h];
  for (;;) {
    if (started.empty()) {
      if (!stays && !wants_receiver(host)) return;
      std::unique_ptr<DispatchMessage> task;
      ++host.receivers;
      try {
        task.reset(host.inbox->get<DispatchMessage>());
      } catch (const simgrid::NetworkFailureException&) {
        --host.receivers;
        continue;  // a dispatch lost on a cut link: the scheduler moves the task when it
                   // declares this worker dead
      }
      --host.receivers;
      if (stale(host, *task, epoch_)) continue;
      if (cancelled_before(host, *task)) continue;
      if (!admit(h, *task, started)) return;
      if (started.empty()) continue;  // it waits in the queue for room
    }
    const DispatchMessage d = started.front();
    for (std::size_t i = 1; i < started.size(); ++i) spawn_executor(h, {started[i]});
    started.clear();
    // Someone must take the next dispatch if it could start now.
    if (wants_receiver(host)) spawn_executor(h, {});
    run_task(h, d);
    host.queue.finished(d.seq);
    start_waiting(host, started);
  }
}

// An extra executor, running `started` (or, when empty, waiting for a dispatch first).
void Simulation::spawn_executor(std::uint32_t h, std::vector<DispatchMessage> started) {
  sg4::Actor::create("executor", hosts_[h].host, [this, h, started = std::move(started)]() mutable {
    executor_loop(h, /*stays=*/false, std::move(started));
  })->daemonize();
}

// Whether nobody waits for the host's next dispatch although it could start now: the
// queue is empty (else a dispatch waits behind its head anyway) and a core is free (or
// some task asks for none). With one-core tasks on a host whose executors all compute,
// no core is free: dispatches wait in the mailbox, as they always did.
bool Simulation::wants_receiver(const HostState& host) const {
  return host.receivers == 0 && host.queue.waiting() == 0 && (host.queue.free().cores > 0 || zero_core_requests_);
}

// Accepts a fresh dispatch into the local queue; when it starts at once (nothing ahead of
// it and its request fits), appends it to `started`. False when the host cannot ever run
// it: the run stops with an error (the core's feasibility must prevent that).
bool Simulation::admit(std::uint32_t h, const DispatchMessage& d, std::vector<DispatchMessage>& started) {
  HostState& host = hosts_[h];
  const Resources& request = request_of(d.task);
  // The default request (one core) fits any host with a core: no need to ask the queue.
  const bool one_core = &request == &requests_[0] && host.spec.slots >= 1;
  if (const std::string dimension = one_core ? std::string() : host.queue.misfit(request); !dimension.empty()) {
    if (error_.empty()) {
      error_ = fmt::format("host {} was dispatched task {}, whose request does not fit the host's capacity in {}: "
                           "the scheduler must place a task only where it fits",
                           host.spec.name, d.task, dimension);
      event(now(), "dispatch_refused", host.spec.name, error_, true);
    }
    sg4::Actor::kill_all();
    return false;
  }
  host.queue.push(d.seq, request);
  if (host.queue.waiting() == 1) {  // nothing ahead of it
    started_ids_.clear();
    host.queue.start_ready(started_ids_);
    if (!started_ids_.empty()) {
      started.push_back(d);
      return true;
    }
  }
  host.waiting.emplace(d.seq, d);
  return true;
}

// Starts, in FIFO order, the waiting dispatches that fit now and appends them to
// `started`. One that went stale while it waited (a deposed leader's, a past
// incarnation's, a cancelled attempt) is dropped, and its room goes to the next.
void Simulation::start_waiting(HostState& host, std::vector<DispatchMessage>& started) {
  if (host.waiting.empty()) return;
  for (bool freed = true; freed;) {
    freed = false;
    started_ids_.clear();
    host.queue.start_ready(started_ids_);
    for (const TaskId seq : started_ids_) {
      auto it = host.waiting.find(seq);
      const DispatchMessage d = it->second;
      host.waiting.erase(it);
      if (stale(host, d, epoch_) || cancelled_before(host, d)) {
        host.queue.finished(seq);
        freed = true;
        continue;
      }
      started.push_back(d);
    }
  }
}

// Outside an executor (a cancel took a waiting task out, a registration dropped stale
// ones): what starts now gets executors of its own.
void Simulation::start_waiting_now(std::uint32_t h) {
  HostState& host = hosts_[h];
  std::vector<DispatchMessage> started;
  start_waiting(host, started);
  for (const DispatchMessage& d : started) spawn_executor(h, {d});
  if (wants_receiver(host)) spawn_executor(h, {});
}

// The host registers anew: what waits in its queue was sent to its past incarnation, and
// the core moved it already.
void Simulation::drop_waiting(std::uint32_t h) {
  HostState& host = hosts_[h];
  if (host.waiting.empty()) return;
  for (const auto& [seq, d] : host.waiting) host.queue.remove(seq);
  host.waiting.clear();
  start_waiting_now(h);
}

// Runs one started dispatch to its end: its resources are taken until this returns.
void Simulation::run_task(std::uint32_t h, const DispatchMessage& d) {
  HostState& host = hosts_[h];
  if (host.paused) {
    std::unique_lock<sg4::Mutex> lock(*host.mutex);
    while (host.paused) host.resumed->wait(lock);
  }
  if (with_faults_) host.running.insert(d.task);
  // The resources are taken while the inputs arrive; the task starts computing after.
  receive_inputs(h, d.task);
  if (cancelled_before(host, d)) {
    host.running.erase(d.task);
    return;
  }
  const double started = now();
  if (report_starts_ && !host.cut) {
    send(h, WorkerMessage{WorkerMessage::Kind::kStarted, h, host.current, d.task, started});
  }
  const double flops = flops_on(h, d.task, d.flops);
  // A task with a time limit is killed at it, as a real worker kills its process.
  const double limit = d.task < task_specs_.size() ? task_specs_[d.task].timeout : 0;
  if (limit > 0) {
    sg4::ExecPtr exec = sg4::this_actor::exec_init(flops);
    host.execs[d.task] = exec;
    exec->start();
    bool timed_out = false;
    try {
      exec->wait_for(limit);
    } catch (const simgrid::TimeoutException&) {
      timed_out = true;
      exec->cancel();
    } catch (const simgrid::CancelException&) {
      host.execs.erase(d.task);
      host.running.erase(d.task);
      return;
    }
    host.execs.erase(d.task);
    host.running.erase(d.task);
    if (timed_out) {
      // Reported to the leader it ran for; with none listening the attempt is lost with
      // the host's memory of it, and a new leader runs the task again.
      if (leader_up_ && host.registered_epoch == epoch_ && !host.cut) {
        send(h, WorkerMessage{WorkerMessage::Kind::kTimedOut, h, host.current, d.task, started});
      }
      return;
    }
  } else if (track_execs_) {
    // Kept where a pause can suspend it, a cancel stop it and a failover see it.
    sg4::ExecPtr exec = sg4::this_actor::exec_init(flops);
    host.execs[d.task] = exec;
    exec->start();
    try {
      exec->wait();
    } catch (const simgrid::CancelException&) {
      host.execs.erase(d.task);
      host.running.erase(d.task);
      return;  // cancelled by the scheduler: its resources are free, nothing to report
    }
    host.execs.erase(d.task);
    host.running.erase(d.task);
  } else {
    sg4::this_actor::execute(flops);
  }
  if (leader_up_ && host.registered_epoch == epoch_ && !host.cut) {
    send(h, WorkerMessage{WorkerMessage::Kind::kDone, h, host.current, d.task, started});
  } else {
    host.unreported[d.task] = started;
  }
}

// A task's request, kept only when it is not the default (one core): synthetic runs of
// one-core tasks store nothing per task.
void Simulation::note_request(TaskId t, const Resources& request) {
  if (request.cores <= 0 && !zero_core_requests_) {
    zero_core_requests_ = true;
    // Hosts whose cores are all taken may start it: each needs someone at its mailbox.
    for (std::uint32_t h = 0; h < hosts_.size(); ++h) {
      if (hosts_[h].up && !hosts_[h].standby && !hosts_[h].booting && wants_receiver(hosts_[h])) spawn_executor(h, {});
    }
  }
  if (request == requests_[0]) return;
  auto key = std::make_tuple(request.cores, request.memory, request.gpus, request.other);
  auto [it, fresh] = request_index_.emplace(std::move(key), static_cast<std::uint32_t>(requests_.size()));
  if (fresh) requests_.push_back(request);
  if (request_of_task_.size() <= t) request_of_task_.resize(t + 1, 0);
  request_of_task_[t] = it->second;
}

// A Cancel (a task timed out, a claim of a task done elsewhere, a cancelled job): the
// host stops the task, as a worker kills its process, and the resources the core freed
// are free here too. The message is modelled as instant; a host that cannot hear it
// (crashed, cut off) runs the attempt to its end and its report is ignored.
void Simulation::cancel(std::uint32_t h, TaskId task) {
  HostState& host = hosts_[h];
  if (!host.up || host.cut || host.standby) return;
  if (host.unreported.erase(task) > 0) return;  // finished already; the result is dropped
  if (auto it = host.execs.find(task); it != host.execs.end()) {
    it->second->cancel();
    return;
  }
  for (auto it = host.waiting.begin(); it != host.waiting.end(); ++it) {
    if (it->second.task != task) continue;
    host.queue.remove(it->first);
    host.waiting.erase(it);
    start_waiting_now(h);  // it may have held the head
    return;
  }
  host.cancelled[task] = dispatch_seq_;
}

// Waits for the data of the task's parents that ran on other hosts. An explicit `comm`
// time runs from the parent's end (the data is pushed as soon as it exists, as HEFT and
// the textbook examples assume); bytes are pulled over the modelled network when the
// task starts, all parents at once.
void Simulation::receive_inputs(std::uint32_t h, TaskId t) {
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

// The host a finished task ran on: its worker in the current core, or, for a completion
// replayed from the journal after a failover, the host the record names.
std::uint32_t Simulation::host_of_task(TaskId t) const {
  const Task& task = core_->table().tasks[t];
  if (task.worker != kNoWorker && task.worker < host_of_.size()) return host_of_[task.worker];
  if (t < durable_.finished_on.size() && !durable_.finished_on[t].empty()) {
    auto it = host_index_.find(durable_.finished_on[t]);
    if (it != host_index_.end()) return it->second;
  }
  return kNoWorker;
}

// A task with explicit costs takes its cost on this host (as flops at the host's speed).
double Simulation::flops_on(std::uint32_t h, TaskId t, double flops) const {
  if (t >= task_specs_.size() || task_specs_[t].cost.empty()) return flops;
  auto it = task_specs_[t].cost.find(hosts_[h].spec.name);
  return it == task_specs_[t].cost.end() ? flops : it->second * hosts_[h].spec.speed;
}

}  // namespace fulcrum::sim
