// Small statistics used by metrics and comparisons: mean, nearest-rank percentiles, and
// the 95 % confidence half-width of a mean over independent runs (Student's t).
#pragma once

#include <span>
#include <vector>

namespace fulcrum {

double mean(std::span<const double> xs);
// Sample standard deviation (n - 1); 0 for fewer than two values.
double sample_stddev(std::span<const double> xs);
// Nearest-rank percentile, q in [0, 1]. REQUIRES: `sorted` is sorted ascending; 0 if empty.
double percentile_sorted(std::span<const double> sorted, double q);
// Two-sided 95 % Student-t quantile for `dof` degrees of freedom (dof >= 1).
double t_quantile_95(int dof);
// Half-width of the 95 % confidence interval of the mean of independent samples
// (0 for fewer than two).
double ci95_halfwidth(std::span<const double> xs);

}  // namespace fulcrum
