// What a run leaves: the events.csv entries written as the run goes, and the RunRecords
// built from the core's task table when it is over.
//
// Records are per host, not per incarnation: a host that re-registered many times is one
// workers.csv row, and a completion restored from the journal after a failover is charged
// to the host its record names. The summary is the run's, across leaders (counters of
// deposed cores are carried in retried_before_ and wasted_before_), and adds what only
// the simulator knows: powered-on host time and, when asked, the energy plugin's joules.
#include "sim/simulation.h"

#include <simgrid/plugins/energy.h>

#include "results/tenants.h"

namespace fulcrum::sim {

RunRecords Simulation::records() {
  const TaskTable& table = core_->table();
  RunRecords r;
  r.tasks.reserve(table.tasks.size());
  std::map<std::string, std::uint32_t> host_by_name;
  for (std::uint32_t h = 0; h < hosts_.size(); ++h) host_by_name[hosts_[h].spec.name] = h;
  for (const HostState& h : hosts_) {
    const Resources capacity = h.spec.capacity();
    r.workers.push_back({h.spec.name, h.spec.group, h.spec.speed, h.spec.slots, 0, 0, 0, capacity.memory, capacity.gpus});
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
    const Resources& request = core_->cluster().needs(t.shape).request;
    r.tasks.push_back({t.id, t.job, t.flops, t.submit, t.dispatched, t.start, t.end, host, t.attempts, t.state,
                       request.cores, request.memory, request.gpus, t.preemptions});
  }
  r.events = std::move(events_);
  r.jobs = std::move(jobs_);
  r.summary = summarize(r.tasks, r.workers, retried_before_ + core_->tasks_retried());
  summarize_jobs(r.tasks, r.jobs, r.summary);
  summarize_tenants(r, scenario_.tenants);
  r.summary.data_moved = bytes_moved(trace_.jobs, r.tasks);
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

// A core notice becomes an events.csv entry. A failure for good is also journaled when a
// failover may replay it, so that the next leader does not retry the task.
void Simulation::on_notice(const Notice& n) {
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

void Simulation::event(double t, std::string kind, std::string host, std::string detail, bool alert) {
  events_.push_back(EventRecord{t, std::move(kind), std::move(host), std::move(detail), alert});
}

}  // namespace fulcrum::sim
