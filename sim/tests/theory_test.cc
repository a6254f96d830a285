// Where queueing theory has an answer, the simulator must agree with it.
//
// Tolerances: a run's mean response time is a correlated sample; with ~N completions
// at load rho its relative standard error is roughly sqrt((1 + rho) / (1 - rho) / N) for
// M/M/1-like queues (the integrated autocorrelation of the sojourn process; Whitt, 1989).
// We average over seeds and allow three such standard errors. The network is made
// near-ideal (1 us links) so that the dispatch and completion messages add ~0.01 % to each
// task; 0.2 % of slack covers them.
#include <gtest/gtest.h>

#include <cmath>

#include "scenario/load.h"
#include "sim/isolated.h"

namespace fulcrum {
namespace {

Scenario identical_hosts(int hosts, double rate, int queue_cap, const std::string& policy, std::uint64_t tasks,
                         std::uint64_t seed) {
  const std::string yaml = "seed: " + std::to_string(seed) + "\ncluster:\n  hosts: [{count: " + std::to_string(hosts) +
                           ", speed: 1e9, slots: 1}]\n  network: {latency: 1e-6}\n  queue_cap: " + std::to_string(queue_cap) +
                           "\nworkload: {rate: " + std::to_string(rate) +
                           ", size: {dist: exponential, mean: 1e9}, tasks: " + std::to_string(tasks) +
                           "}\npolicy: " + policy + "\n";
  auto s = load_scenario_text(yaml, "theory.yaml");
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
  return *s;
}

double mean_response_over_seeds(int hosts, double rate, int queue_cap, const std::string& policy,
                                std::uint64_t tasks, int seeds) {
  double sum = 0;
  for (int seed = 1; seed <= seeds; ++seed) {
    auto r = sim::simulate(identical_hosts(hosts, rate, queue_cap, policy, tasks, seed));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
    if (!r.ok()) return NAN;
    EXPECT_EQ(r->summary.tasks_lost, 0u);
    sum += r->summary.response_mean;
  }
  return sum / seeds;
}

// Erlang C: the probability that an arrival waits in an M/M/c queue with offered load a.
double erlang_c(int c, double a) {
  double term = 1, sum = 1;  // k = 0
  for (int k = 1; k < c; ++k) {
    term *= a / k;
    sum += term;
  }
  const double last = term * a / c / (1 - a / c);
  return last / (sum + last);
}

TEST(Theory, RandomDispatchToIdenticalHostsIsMM1) {
  // Random splitting of a Poisson stream gives each host a Poisson stream of rate
  // lambda / n: n independent M/M/1 queues with E[T] = 1 / (mu - lambda / n).
  const int hosts = 8;
  const double rho = 0.7, mu = 1.0;
  const std::uint64_t tasks = 60000;
  const int seeds = 3;
  const double expected = 1.0 / (mu - rho * mu);
  const double simulated = mean_response_over_seeds(hosts, rho * mu * hosts, -1, "random", tasks, seeds);
  const double rel_se = std::sqrt((1 + rho) / (1 - rho) / (tasks * seeds)) * std::sqrt(hosts);
  EXPECT_NEAR(simulated, expected, expected * (3 * rel_se + 0.002)) << "relative SE " << rel_se;
}

TEST(Theory, LateBindingIsMMc) {
  // With queue_cap 0 a task waits centrally until any of the c servers frees: M/M/c with
  // E[T] = C(c, a) / (c mu - lambda) + 1 / mu.
  const int c = 8;
  const double rho = 0.8, mu = 1.0, lambda = rho * c * mu;
  const std::uint64_t tasks = 60000;
  const int seeds = 3;
  const double expected = erlang_c(c, lambda / mu) / (c * mu - lambda) + 1 / mu;
  const double simulated = mean_response_over_seeds(c, lambda, 0, "round_robin", tasks, seeds);
  const double rel_se = std::sqrt((1 + rho) / (1 - rho) / (tasks * seeds));
  EXPECT_NEAR(simulated, expected, expected * (3 * rel_se + 0.002)) << "relative SE " << rel_se;
}

TEST(Theory, ErlangCMatchesAPublishedValue) {
  // c = 2, a = 1 (rho = 0.5): C = 1/3, a textbook value.
  EXPECT_NEAR(erlang_c(2, 1.0), 1.0 / 3.0, 1e-12);
}

}  // namespace
}  // namespace fulcrum
