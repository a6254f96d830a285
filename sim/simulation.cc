// Configuration of a run: what the scenario asks of the simulator, checked against the
// platform it got, and the actors the run starts with.
//
// The flags set here decide what the run pays for. Start reports and handles on executions
// serve only timeouts and faults, and the journal only a leader kill; a run that cannot
// need them skips them, which on large clusters saves a message or a record per task.
// A scenario that the platform cannot honour (a fault naming an unknown host, a link fault
// on a shared route) is an Error here, before anything runs, never a silent no-op later.
#include "sim/simulation.h"

#include <algorithm>

#include "scenario/scheduler_config.h"

namespace fulcrum::sim {

Simulation::Simulation(const Scenario& scenario, Platform platform, TraceJobs jobs, ProgressFn progress)
    : scenario_(scenario),
      platform_(std::move(platform)),
      trace_(std::move(jobs)),
      arrivals_(scenario.workload, scenario.seed),
      progress_(std::move(progress)),
      with_faults_(!scenario.faults.empty()),
      // Start reports let the core time attempts out, count the work a crash wastes and
      // choose the preemption victims that lose least.
      report_starts_(scenario.recovery.task_timeout > 0 || !scenario.faults.empty() || scenario.preemption.enabled),
      // The core cancels attempts only after a timeout, a fault or a preemption.
      track_execs_(report_starts_),
      // The durable records matter only to a failover; without one they would cost a
      // record per task for nothing.
      keep_journal_(std::any_of(scenario.faults.begin(), scenario.faults.end(),
                                [](const FaultSpec& f) { return f.kind == FaultSpec::Kind::kLeaderKill; })),
      classes_(scenario.classes, scenario.seed, scenario.width),
      batch_instants_(scenario.discipline.kind != "fifo") {}

Expected<bool> Simulation::start() {
  std::vector<std::string> names, groups;
  for (std::size_t h = 0; h < platform_.hosts.size(); ++h) {
    HostState state;
    state.host = platform_.hosts[h];
    state.link = h < platform_.links.size() ? platform_.links[h] : nullptr;
    state.base_latency = state.link ? state.link->get_latency() : 0;
    state.spec = platform_.specs[h];
    state.queue = LocalQueue(state.spec.capacity());
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
    if (!known && !f.zone.empty()) {
      return Error{scenario_.source + ":" + std::to_string(f.line) + ": faults: zone_outage: no zone named '" +
                   f.zone + "' on this platform"};
    }
    if (!known) {
      return Error{scenario_.source + ":" + std::to_string(f.line) + ": faults: no host or group named '" +
                   f.host + f.group + "' on this platform"};
    }
    if (f.kind == FaultSpec::Kind::kLink && platform_.links.empty() && !f.zone.empty()) {
      return Error{scenario_.source + ":" + std::to_string(f.line) +
                   ": faults: a zone_outage with mode partition needs a cluster of host groups (it cuts each "
                   "host's own link; a platform's routes are shared)"};
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

// The core's settings come from the scenario alone (scenario/scheduler_config.h, shared with
// real mode); the simulator adds the epoch of the leader being built, and batches the
// events of an instant for the disciplines whose textbook rules assume it.
SchedulerConfig Simulation::config() const {
  SchedulerConfig c = scheduler_config(scenario_, hosts_.size());
  c.epoch = epoch_;
  c.pass_per_instant = batch_instants_;
  return c;
}

}  // namespace fulcrum::sim
