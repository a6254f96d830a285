// The SimGrid driver: runs a scenario on a SimGrid-modelled cluster with the core
// scheduler making every decision.
//
// Actors: on the scheduler host, a submitter (turns the workload's arrivals into submit
// events) and the scheduler loop (turns completion messages into finish events); both feed
// the one Scheduler and send its Dispatch commands as messages over the modelled network.
// On each worker host, executor actors take dispatches from the host's mailbox into its
// local queue (core/local_queue.h) and start them in FIFO order as soon as their whole
// request (cores, memory, GPUs, named resources) fits what is free, each computing its flops
// at the host's speed. The clock is SimGrid's virtual clock only.
// The run itself is the Simulation class (sim/simulation.h), one file per concern.
#pragma once

#include <cstdint>
#include <functional>

#include "core/expected.h"
#include "results/metrics.h"
#include "scenario/scenario.h"

namespace fulcrum::sim {

// Called now and then with the number of finished tasks and the total.
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

// Runs the scenario in this process. SimGrid allows one engine per process, so this may
// be called once per process: use simulate() (sim/isolated.h) to run many.
Expected<RunRecords> run_simulation_in_process(const Scenario& scenario, const ProgressFn& progress = {});

}  // namespace fulcrum::sim
