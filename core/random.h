// A seeded random generator with its own distributions.
//
// The core and the workload generator draw every random number from here so that the
// same seed gives the same numbers bit for bit on every standard library: the engine is
// xoshiro256** (seeded through SplitMix64) and each distribution is a fixed formula,
// not a std::*_distribution whose algorithm is implementation-defined.
#pragma once

#include <cstdint>

namespace fulcrum {

class Rng {
 public:
  // Streams let independent consumers (workload, policy) share one scenario seed
  // without their draws depending on each other.
  explicit Rng(std::uint64_t seed, std::uint64_t stream = 0);

  std::uint64_t next_u64();
  // Uniform on [0, 1) with 53 random bits.
  double uniform01();
  // Uniform integer on [0, n). REQUIRES: n > 0.
  std::uint64_t uniform_int(std::uint64_t n);
  double uniform(double lo, double hi);
  double exponential(double mean);
  double standard_normal();
  // Log-normal with the given mean of the distribution and sigma of the underlying normal.
  double lognormal(double mean, double sigma);
  // Bounded Pareto on [lo, hi] with shape alpha (inverse CDF).
  double bounded_pareto(double alpha, double lo, double hi);

 private:
  std::uint64_t s_[4];
};

}  // namespace fulcrum
