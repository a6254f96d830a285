// A slot's executor: the worker side of a dispatch, from the host's mailbox to the report.
//
// Each slot of a host has one executor actor; all of them take dispatches from the host's
// one mailbox in FIFO order. An executor refuses what is stale (a deposed leader's epoch, a
// past incarnation of its host, a cancelled attempt), waits out a pause, pulls its parents'
// data, computes the task's flops at the host's speed and reports the start and the end to
// the leader. A result nobody can hear (leader down, link cut, host not registered with
// this leader) is kept in `unreported` and handed over at the next registration.
//
// Cancels are the leader's other command to a host: an attempt that is computing is
// stopped, one that has not started yet is dropped when an executor reaches it.
#include "sim/simulation.h"

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

}  // namespace

void Simulation::executor_loop(std::uint32_t h, sg4::Mailbox* inbox) {
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

// A Cancel (a task timed out, a claim of a task done elsewhere, a cancelled job): the
// host stops the task, as a worker kills its process, and the slot the core freed is
// free here too. The message is modelled as instant; a host that cannot hear it (crashed,
// cut off) runs the attempt to its end and its report is ignored.
void Simulation::cancel(std::uint32_t h, TaskId task) {
  HostState& host = hosts_[h];
  if (!host.up || host.cut || host.standby) return;
  if (host.unreported.erase(task) > 0) return;  // finished already; the result is dropped
  if (auto it = host.execs.find(task); it != host.execs.end()) {
    it->second->cancel();
  } else {
    host.cancelled[task] = dispatch_seq_;
  }
}

// Waits for the data of the task's parents that ran on other hosts. An explicit `comm`
// time runs from the parent's end (the data is pushed as soon as it exists, as HEFT and
// the textbook examples assume); bytes are pulled over the modelled network when the
// task takes its slot, all parents at once.
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
