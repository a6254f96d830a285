// Synthetic workloads: the arrival process and the task-size distribution of a scenario,
// and the deterministic stream of arrivals they generate.
//
// An ArrivalStream draws from its own Rng stream, so the same seed gives the same arrivals
// whatever the policy does with them (policies draw from another stream).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/types.h"

namespace fulcrum {

struct SizeDistribution {
  enum class Kind : std::uint8_t { kConstant, kExponential, kUniform, kLognormal, kBoundedPareto };
  Kind kind = Kind::kExponential;
  double mean = 1e9;   // constant, exponential, lognormal
  double sigma = 1.0;  // lognormal: sigma of the underlying normal
  double low = 0;      // uniform, bounded_pareto
  double high = 0;     // uniform, bounded_pareto
  double alpha = 1.5;  // bounded_pareto shape

  double draw(Rng& rng) const;
  // The distribution's mean (for load = rate * mean_size / capacity).
  double expected() const;
};

std::string to_string(SizeDistribution::Kind kind);

// A time-varying arrival rate: rate(t) = rate x factor(t). Arrivals are then a
// non-homogeneous Poisson process, drawn by thinning (Lewis & Shedler): candidates at the
// peak rate, each kept with probability rate(t) / peak, from the workload's own stream.
struct RateProfile {
  enum class Kind : std::uint8_t { kConstant, kDiurnal, kStep };
  Kind kind = Kind::kConstant;
  // diurnal: factor(t) = 1 - amplitude x cos(2 pi t / period): a trough of 1 - amplitude at
  // t = 0, a peak of 1 + amplitude at period / 2; its mean is 1, so `rate` is the mean rate.
  double period = 86400;
  double amplitude = 0.5;  // 0 <= amplitude <= 1
  // step: factor(t) = factors[i] from at[i] (at[0] = 0, increasing) until the next step.
  std::vector<double> at;
  std::vector<double> factors;

  double factor(double t) const;
  double peak() const;  // the largest factor
};

struct SyntheticWorkload {
  double rate = 1;             // Poisson arrivals, tasks per second
  SizeDistribution size;
  std::uint64_t tasks = 1000;  // how many arrive
  RateProfile profile;
};

struct Arrival {
  Time time = 0;
  double flops = 0;
};

class ArrivalStream {
 public:
  ArrivalStream(const SyntheticWorkload& workload, std::uint64_t seed);
  // Fills `out` with the next arrival; false when all `tasks` have arrived.
  bool next(Arrival& out);
  std::uint64_t emitted() const { return emitted_; }

 private:
  SyntheticWorkload workload_;
  Rng rng_;
  Time clock_ = 0;
  std::uint64_t emitted_ = 0;
};

}  // namespace fulcrum
