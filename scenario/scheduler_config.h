// The scheduler configuration a scenario means, built by one function for both worlds:
// the simulator builds its core with it, and `run --mode real` turns the same value into
// the scheduler daemon's flags (real/scheduler_flags.h), so that a
// scenario key cannot reach one world and not the other.
#pragma once

#include <cstddef>

#include "core/scheduler.h"
#include "scenario/scenario.h"

namespace fulcrum {

// `hosts`: the cluster's host count (the autoscaler's default maximum). The failure
// detector is on only when the scenario injects faults: without faults no worker falls
// silent, and a fault-free run should not pay for heartbeats. The epoch is the driver's.
SchedulerConfig scheduler_config(const Scenario& scenario, std::size_t hosts);

// The configuration with every duration multiplied by `factor` (real mode runs scenario
// seconds at real.time_scale).
SchedulerConfig scale_durations(SchedulerConfig config, double factor);

}  // namespace fulcrum
