// `fulcrum run SCENARIO --mode real`: runs a scenario on real local processes — one
// scheduler daemon and one worker daemon per scenario host, all on 127.0.0.1 — and returns
// the same records as a simulation.
//
// Worker speeds are emulated: a synthetic task of F flops on a host of speed S takes
// F / S x time_scale seconds of wall time (sleeping or burning a CPU, as the scenario's
// `real.task` says), and arrivals are replayed at time x time_scale. Records are scaled
// back by 1 / time_scale into scenario seconds, so summaries compare with the simulation.
// Each worker offers its host's resources, labels and zone (fulcrum worker --memory,
// --resources, --label, --zone), and the scheduler gets the tasks the simulator submits
// (task classes drawn from the same seed, a file's requests and require). What local
// processes cannot reproduce is refused: cluster.zones (latency between zones), partition
// zone outages, slowdown and link faults, autoscaling with faults, platform files.
// Every process started is stopped (SIGTERM, then SIGKILL) before this returns.
#pragma once

#include <string>

#include "core/expected.h"
#include "results/metrics.h"
#include "scenario/scenario.h"

namespace fulcrum::real {

struct LocalRunOptions {
  std::string binary;   // the fulcrum executable to start daemons with
  bool verbose = false; // daemons log to stderr
  // The scheduler's /metrics on 127.0.0.1 (-1: off; 0: a free port, written to
  // metrics_port_file if given), so that `fulcrum top` can watch the run.
  int metrics_port = -1;
  std::string metrics_port_file;
};

// Whether local processes can run `scenario` as the simulation would: an error naming the
// key (a platform file, zone links, partition and slowdown faults...) otherwise. run_local
// checks it first; the CLI asks before starting anything, to tell bad input from a failure.
Expected<bool> check_runs_locally(const Scenario& scenario);

Expected<RunRecords> run_local(const Scenario& scenario, const LocalRunOptions& options);

// Set by run_local in its daemons' environment to its pid: a daemon started with it exits
// within 0.2 s of that process dying (die_with_parent_if_asked), so that a run killed by
// a signal leaves no daemon behind.
inline constexpr const char* kParentPidVariable = "FULCRUM_PARENT_PID";
// Called first thing by the fulcrum binary; removes the variable so that what the daemon
// starts in turn (scale-out commands) does not inherit it.
void die_with_parent_if_asked();

}  // namespace fulcrum::real
