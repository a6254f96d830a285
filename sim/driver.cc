// run_simulation_in_process(): the one entry point of the SimGrid driver. It owns what is
// process-wide in SimGrid (the engine, its logging and configuration, the energy plugin),
// builds the platform and loads a file workload, then hands the run to a Simulation
// (sim/simulation.h). An invalid scenario or platform is an Error before anything runs.
#include "sim/driver.h"

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
  long long actors = 0;  // one executor per core (more when several tasks start at once), and a
                         // heartbeat per host under faults
  for (const WorkerSpec& spec : platform->specs) actors += spec.slots + (scenario.faults.empty() ? 0 : 1);
  if (actors > kGuardedActorsAtMost) {
    sg4::Engine::set_config("contexts/guard-size:0");
    sg4::Engine::set_config("contexts/stack-size:" + std::to_string(kLargeClusterStackKiB));
  }
  TraceJobs jobs;
  if (!scenario.trace.type.empty()) {
    auto loaded = load_trace_jobs(scenario.trace);
    if (!loaded) return Error{loaded.error()};
    jobs = std::move(*loaded);
  }
  Simulation simulation(scenario, std::move(*platform), std::move(jobs), progress);
  if (auto started = simulation.start(); !started) return Error{started.error()};
  engine.run();
  if (!simulation.error().empty()) return Error{scenario.source + ": " + simulation.error()};
  return simulation.records();
}

}  // namespace fulcrum::sim
