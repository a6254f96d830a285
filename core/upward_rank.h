// HEFT's upward rank, the list-scheduling priority: the scheduler's critical_path queue
// order and the HEFT planner (policies/heft.h) both call this one implementation.
#pragma once

#include <cstdint>
#include <vector>

namespace fulcrum {

// One task as the upward rank sees it, shaped like a JobSpec's TaskSpec: its time, and its
// parents with the seconds each one's data takes to reach it.
struct RankTask {
  double time = 0;
  std::vector<std::uint32_t> parents;  // each < own index
  std::vector<double> parent_comm;     // aligned with parents
};

// HEFT's upward rank, the one implementation (the scheduler's critical_path priorities and
// the HEFT planner both call it): per task, its time plus the longest chain of
// (edge, task) below it. REQUIRES: parents precede children. With snap_ties, each rank is
// rounded to 40 significant bits as it is computed (so parents see rounded ranks), which
// makes ranks that tie in exact arithmetic but differ in the last bits through different
// sums equal doubles; the 2^-40 relative resolution is far below any difference that
// matters in a plan.
std::vector<double> upward_rank(const std::vector<RankTask>& tasks, bool snap_ties = false);

}  // namespace fulcrum
