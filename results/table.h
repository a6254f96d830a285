// Comparison tables: each row a policy, each column a metric as mean ± 95 % CI over seeds.
#pragma once

#include <string>
#include <vector>

#include "results/metrics.h"

namespace fulcrum {

struct PolicyRuns {
  std::string policy;
  std::vector<Summary> runs;  // one per seed
};

// Which columns a comparison shows: per-task response times, job (DAG) makespans, the
// recovery figures of runs with faults, or the packing figures of runs with resources.
enum class Columns { kTasks, kJobs, kFaults, kResources };
std::vector<std::string> comparison_metrics(Columns columns);
// Faults when any run had some, else jobs for a workload of DAG jobs, else resources when
// any run used more than one-core slots (memory or GPUs held, free cores stranded, or a
// task unschedulable), else tasks.
Columns columns_for(const std::vector<PolicyRuns>& rows, bool dag_jobs);

// A fixed-width text table for a terminal.
std::string format_comparison(const std::vector<PolicyRuns>& rows, Columns columns);

// The same as CSV: policy, metric, mean, ci95, n (one row per policy and metric).
std::string comparison_csv(const std::vector<PolicyRuns>& rows, Columns columns);

}  // namespace fulcrum
