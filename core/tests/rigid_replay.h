// A driver for rigid jobs in exact time, for tests: the core alone, fed as the textbook
// rules of backfilling assume (docs/backfilling.md). At each instant, the completions of
// that instant are reported first, then the arrivals, then one placement pass
// (Scheduler::on_instant_end); a dispatched task starts at once and ends exactly its run
// time later. No network, no SimGrid: what it shows is the core's decisions themselves.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/scheduler.h"

namespace fulcrum::testing {

struct RigidJob {
  Time submit = 0;
  std::uint32_t width = 1;  // tasks of one core each, started together (a gang)
  double runtime = 0;       // seconds
  double estimate = 0;      // the submitter's, seconds (0: unknown)
};

struct RigidStart {
  Time start = -1;  // when its tasks started (the same instant for all), -1 never
  Time end = -1;
};

// Runs `jobs` on `hosts` hosts of `cores` cores each (speed 1 flop/s, so a task's flops
// are its run time). REQUIRES: jobs sorted by submit. The policy picks among the hosts.
std::vector<RigidStart> replay_rigid(const std::vector<RigidJob>& jobs, std::uint32_t hosts, int cores,
                                     SchedulerConfig config, const std::string& policy = "first_fit");

}  // namespace fulcrum::testing
