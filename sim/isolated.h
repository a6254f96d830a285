// Runs simulations in forked child processes, so one process (the CLI's compare, a test,
// the Python module) can run as many as it likes: SimGrid allows one engine per process.
//
// The child runs run_simulation_in_process() and ships the records back through a pipe;
// a child that crashes is reported as an Error, never as a crash of the caller.
#pragma once

#include "core/expected.h"
#include "core/metrics.h"
#include "scenario/scenario.h"
#include "sim/driver.h"

namespace fulcrum::sim {

Expected<RunRecords> simulate(const Scenario& scenario, const ProgressFn& progress = {});

}  // namespace fulcrum::sim
