#include "model/arrivals.h"

#include <algorithm>
#include <cmath>

namespace fulcrum {

double SizeDistribution::draw(Rng& rng) const {
  switch (kind) {
    case Kind::kConstant: return mean;
    case Kind::kExponential: return rng.exponential(mean);
    case Kind::kUniform: return rng.uniform(low, high);
    case Kind::kLognormal: return rng.lognormal(mean, sigma);
    case Kind::kBoundedPareto: return rng.bounded_pareto(alpha, low, high);
  }
  return mean;
}

double SizeDistribution::expected() const {
  switch (kind) {
    case Kind::kConstant:
    case Kind::kExponential:
    case Kind::kLognormal: return mean;
    case Kind::kUniform: return 0.5 * (low + high);
    case Kind::kBoundedPareto: {
      // E[X] of the bounded Pareto (Harchol-Balter's parametrisation).
      const double l = low, h = high, a = alpha;
      if (std::abs(a - 1.0) < 1e-12) return (h * l / (h - l)) * std::log(h / l);
      return (std::pow(l, a) / (1.0 - std::pow(l / h, a))) * (a / (a - 1.0)) *
             (1.0 / std::pow(l, a - 1.0) - 1.0 / std::pow(h, a - 1.0));
    }
  }
  return mean;
}

std::string to_string(SizeDistribution::Kind kind) {
  switch (kind) {
    case SizeDistribution::Kind::kConstant: return "constant";
    case SizeDistribution::Kind::kExponential: return "exponential";
    case SizeDistribution::Kind::kUniform: return "uniform";
    case SizeDistribution::Kind::kLognormal: return "lognormal";
    case SizeDistribution::Kind::kBoundedPareto: return "bounded_pareto";
  }
  return "?";
}

ArrivalStream::ArrivalStream(const SyntheticWorkload& workload, std::uint64_t seed)
    : workload_(workload), rng_(seed, /*stream=*/1) {}

double RateProfile::factor(double t) const {
  switch (kind) {
    case Kind::kConstant: return 1;
    case Kind::kDiurnal: return 1 - amplitude * std::cos(2 * M_PI * t / period);
    case Kind::kStep: {
      double f = factors.empty() ? 1 : factors[0];
      for (std::size_t i = 0; i < at.size() && at[i] <= t; ++i) f = factors[i];
      return f;
    }
  }
  return 1;
}

double RateProfile::peak() const {
  switch (kind) {
    case Kind::kConstant: return 1;
    case Kind::kDiurnal: return 1 + amplitude;
    case Kind::kStep: {
      double f = 0;
      for (double x : factors) f = std::max(f, x);
      return f;
    }
  }
  return 1;
}

bool ArrivalStream::next(Arrival& out) {
  if (emitted_ >= workload_.tasks) return false;
  if (workload_.profile.kind != RateProfile::Kind::kConstant) {
    // Thinning: candidates at the peak rate, each kept with probability factor / peak.
    const double peak = workload_.profile.peak();
    for (;;) {
      clock_ += rng_.exponential(1.0 / (workload_.rate * peak));
      if (rng_.uniform01() * peak < workload_.profile.factor(clock_)) break;
    }
    out.time = clock_;
    out.flops = workload_.size.draw(rng_);
    ++emitted_;
    return true;
  }
  clock_ += rng_.exponential(1.0 / workload_.rate);
  out.time = clock_;
  out.flops = workload_.size.draw(rng_);
  ++emitted_;
  return true;
}

}  // namespace fulcrum
