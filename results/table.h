// Comparison tables: each row a policy, each column a metric as mean ± 95 % CI over seeds.
#pragma once

#include <string>
#include <vector>

#include "core/metrics.h"

namespace fulcrum {

struct PolicyRuns {
  std::string policy;
  std::vector<Summary> runs;  // one per seed
};

// The metrics a comparison table shows, in order; with faults, the recovery figures too.
std::vector<std::string> comparison_metrics(bool with_faults);

// A fixed-width text table for a terminal.
std::string format_comparison(const std::vector<PolicyRuns>& rows);

// The same as CSV: policy, metric, mean, ci95, n (one row per policy and metric).
std::string comparison_csv(const std::vector<PolicyRuns>& rows);

}  // namespace fulcrum
