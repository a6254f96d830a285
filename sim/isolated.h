// Runs simulations in forked child processes, so one process (the CLI's compare, a test,
// the Python module) can run as many as it likes: SimGrid allows one engine per process.
//
// The child runs run_simulation_in_process() and ships the records back through a pipe;
// a child that crashes is reported as an Error, never as a crash of the caller.
#pragma once

#include <functional>
#include <vector>

#include "core/expected.h"
#include "results/metrics.h"
#include "scenario/scenario.h"
#include "sim/driver.h"

namespace fulcrum::sim {

// Runs one simulation in a forked child. `progress(done, total)` is called in the calling
// process (about every 100 ms while the count of finished tasks moves), never in the child.
Expected<RunRecords> simulate(const Scenario& scenario, const ProgressFn& progress = {});

// Runs many simulations, at most `jobs` at once, each in its own forked child. The calling
// thread forks every child and waits on their pipes itself: forking while other threads
// run is unsafe (a child can inherit a lock held by another thread, and hang), so callers
// must not run simulations from several threads. `done(i)` is called as run i ends.
std::vector<Expected<RunRecords>> simulate_many(const std::vector<Scenario>& scenarios, unsigned jobs,
                                                const std::function<void(std::size_t)>& done = {});

}  // namespace fulcrum::sim
