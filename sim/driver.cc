// run_simulation_in_process(): the one entry point of the SimGrid driver. It owns what is
// process-wide in SimGrid (the engine, its logging and configuration, the energy plugin),
// builds the platform and loads a file workload, then hands the run to a Simulation
// (sim/simulation.h). An invalid scenario or platform is an Error before anything runs.
#include "sim/driver.h"

#include <cmath>

#include <simgrid/plugins/energy.h>
#include <simgrid/s4u.hpp>
#include <xbt/log.h>

#include "policies/registry.h"
#include "sim/platform.h"
#include "sim/simulation.h"
#include "workload/jobs.h"

namespace fulcrum::sim {

// Above this many worker slots (one actor each), actors get heap stacks without guards.
constexpr long long kGuardedActorsAtMost = 20'000;
constexpr int kLargeClusterStackKiB = 32;

namespace {

// Whether a task may ask for less than a whole core (or a fraction beyond one), so that a
// host may run more tasks than it has cores.
bool may_share_cores(const Scenario& scenario, const TraceJobs& jobs) {
  const auto whole = [](double cores) { return cores >= 1 && cores == std::floor(cores); };
  for (const TaskClass& c : scenario.classes) {
    const auto it = c.resources.find("cores");
    if (it == c.resources.end()) continue;
    if (it->second.kind != SizeDistribution::Kind::kConstant || !whole(it->second.mean)) return true;
  }
  for (const TaskRequests& job : jobs.requests) {
    for (const Resources& r : job) {
      if (!whole(r.cores)) return true;
    }
  }
  return false;
}

}  // namespace

Expected<RunRecords> run_simulation_in_process(const Scenario& scenario, const ProgressFn& progress) {
  if (auto policy = make_policy(scenario.policy); !policy) return Error{scenario.source + ": policy: " + policy.error()};
  xbt_log_control_set("root.thres:critical");
  int argc = 1;
  char name[] = "fulcrum";
  char* argv[] = {name, nullptr};
  sg4::Engine engine(&argc, argv);
  TraceJobs jobs;
  if (!scenario.trace.type.empty()) {
    auto loaded = load_trace_jobs(scenario.trace);
    if (!loaded) return Error{loaded.error()};
    jobs = std::move(*loaded);
  }
  // SimGrid's lazy CPU updates (cpu/optim:Lazy, its default) lost executions once a host ran
  // more tasks than it has cores: runs of the Alibaba v2017 trace (0.4-0.75 cores a task)
  // stopped with tasks still computing and no next event, as a deadlock. Full updates do
  // not; they cost more per event, so only runs whose hosts may share cores pay for them.
  if (may_share_cores(scenario, jobs)) sg4::Engine::set_config("cpu/optim:Full");
  // Only runs that ask for energy pay for the plugin (a callback on every CPU action).
  if (scenario.measures_energy()) sg_host_energy_plugin_init();
  auto platform = build_platform(scenario.cluster, slowdown_factors(scenario),
                                 scenario.measures_energy() ? &scenario.power : nullptr);
  if (!platform) return Error{platform.error()};
  if (platform->hosts.empty()) return Error{scenario.source + ": cluster: no worker hosts"};
  if (auto fits = check_rigid_jobs_fit(jobs, platform->specs); !fits) return Error{fits.error()};
  // Every actor's stack is a mapping of its own, and its guard page splits it in two: past
  // some 30,000 actors a process exceeds Linux's vm.max_map_count (65,530 by default) and
  // SimGrid aborts. fulcrum's actors are shallow loops, so large clusters get small stacks
  // from the heap, without guard pages (no new mapping per actor).
  long long actors = 0;  // one executor per core (more when several tasks start at once), and a
                         // heartbeat per host under faults
  for (const WorkerSpec& spec : platform->specs) actors += spec.slots + (scenario.faults.empty() ? 0 : 1);
  if (actors > kGuardedActorsAtMost) {
    sg4::Engine::set_config("contexts/guard-size:0");
    sg4::Engine::set_config("contexts/stack-size:" + std::to_string(kLargeClusterStackKiB));
  }
  Simulation simulation(scenario, std::move(*platform), std::move(jobs), progress);
  if (auto started = simulation.start(); !started) return Error{started.error()};
  engine.run();
  if (!simulation.error().empty()) return Error{scenario.source + ": " + simulation.error()};
  // SimGrid ends a run that has no next event; the scheduler's loop ends only when every
  // task is done (or no host can ever come back). Anything else is a simulator fault, never
  // a result with tasks quietly lost.
  if (!simulation.scheduler_done()) {
    return Error{scenario.source + ": the simulation stopped at t=" + std::to_string(sg4::Engine::get_clock()) +
                 " with " + std::to_string(simulation.tasks_unfinished()) +
                 " tasks unfinished and nothing left to happen (a simulator fault: please report it with the scenario)"};
  }
  return simulation.records();
}

}  // namespace fulcrum::sim
