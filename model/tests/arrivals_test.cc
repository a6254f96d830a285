#include "model/arrivals.h"

#include <gtest/gtest.h>

#include <cmath>

namespace fulcrum {
namespace {

TEST(Workload, BoundedParetoMatchesItsStatedMean) {
  SizeDistribution d;
  d.kind = SizeDistribution::Kind::kBoundedPareto;
  d.low = 1;
  d.high = 1000;
  d.alpha = 1.5;
  Rng r(3);
  double sum = 0;
  const int n = 400000;
  for (int i = 0; i < n; ++i) {
    const double x = d.draw(r);
    ASSERT_GE(x, 1.0);
    ASSERT_LE(x, 1000.0);
    sum += x;
  }
  // E[X] = a/(1 - (L/H)^a) * (L^(1-a) - H^(1-a)) / (a - 1) * L^a = 2.90522 for these
  // parameters; the sample sd is ~ 8, so the standard error of the mean is 0.013.
  EXPECT_NEAR(d.expected(), 1.5 / (1 - std::pow(1e-3, 1.5)) * (1 - std::pow(1000.0, -0.5)) / 0.5, 1e-12);
  EXPECT_NEAR(d.expected(), 2.90522, 1e-5);
  EXPECT_NEAR(sum / n, d.expected(), 0.08);
}

TEST(Workload, PoissonArrivalsHaveTheirRateAndCount) {
  SyntheticWorkload w;
  w.rate = 50;
  w.tasks = 100000;
  ArrivalStream a(w, 9), b(w, 9);
  Arrival x, y;
  Time last = 0;
  while (a.next(x)) {
    ASSERT_TRUE(b.next(y));
    ASSERT_EQ(x.time, y.time);
    ASSERT_GT(x.time, last);
    last = x.time;
  }
  EXPECT_EQ(a.emitted(), 100000u);
  EXPECT_NEAR(last, 100000 / 50.0, 3 * std::sqrt(100000.0) / 50.0);
}

}  // namespace
}  // namespace fulcrum
