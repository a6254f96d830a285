#include "results/stats.h"

#include <gtest/gtest.h>

#include <vector>

namespace fulcrum {
namespace {

TEST(Stats, PercentilesAndConfidenceIntervals) {
  std::vector<double> xs;
  for (int i = 1; i <= 100; ++i) xs.push_back(i);
  EXPECT_EQ(percentile_sorted(xs, 0.5), 50);
  EXPECT_EQ(percentile_sorted(xs, 0.99), 99);
  EXPECT_EQ(percentile_sorted(xs, 1.0), 100);
  EXPECT_DOUBLE_EQ(mean(xs), 50.5);
  const std::vector<double> two{1.0, 3.0};
  // sd = sqrt(2), t(1) = 12.706, half-width = 12.706 * sqrt(2) / sqrt(2).
  EXPECT_NEAR(ci95_halfwidth(two), 12.706, 1e-9);
  EXPECT_EQ(ci95_halfwidth(std::vector<double>{5.0}), 0.0);
}

}  // namespace
}  // namespace fulcrum
