// Tests of the built-in policies through the registry, driving ClusterState directly the
// way the Scheduler does: mutate a worker, refresh it, then tell the policy.
//
// The statistical tests use fixed seeds, so they are deterministic; their bounds are
// still chosen so that a correct policy would pass for almost any seed, which keeps them
// meaningful when the generator or the draw order changes.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/cluster.h"
#include "core/policy.h"
#include "core/random.h"
#include "policies/registry.h"

namespace fulcrum {
namespace {

WorkerSpec spec_with(double weight = 0, int slots = 1, double speed = 1e9) {
  WorkerSpec s;
  s.speed = speed;
  s.slots = slots;
  s.weight = weight;
  return s;
}

// A cluster and a policy kept in sync the way the Scheduler keeps them.
class Harness {
 public:
  explicit Harness(const std::string& policy, int queue_cap = -1, std::uint64_t seed = 1)
      : cluster_(queue_cap), rng_(seed, 2) {
    auto made = make_policy(policy);
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error());
    if (made.ok()) policy_ = std::move(*made);
  }

  WorkerId add(const WorkerSpec& spec = spec_with()) {
    const WorkerId w = cluster_.add(spec);
    policy_->on_worker_changed(cluster_, w);
    return w;
  }
  void add_n(int n) {
    for (int i = 0; i < n; ++i) add();
  }

  void set_load(WorkerId w, std::uint32_t in_system) {
    Worker& worker = cluster_.mutable_worker(w);
    worker.in_system = in_system;
    worker.free[0] = worker.capacity[0] - in_system;  // one-core tasks hold one core each
    changed(w);
  }
  void set_alive(WorkerId w, bool alive) {
    cluster_.mutable_worker(w).alive = alive;
    changed(w);
  }
  void set_suspected(WorkerId w, bool suspected) {
    cluster_.mutable_worker(w).suspected = suspected;
    changed(w);
  }

  // Picks for the next task (a task of a submitted job if one waits, else a new
  // independent one; each task has an id of its own), checks the answer is eligible, and
  // returns it.
  WorkerId pick() {
    if (!ready_.empty()) {
      task_.id = ready_.front();
      ready_.erase(ready_.begin());
    } else {
      task_.id = next_task_++;
    }
    task_.flops = 1e9;
    const std::optional<WorkerId> w = policy_->pick(cluster_, task_, rng_);
    if (!w) {
      // A policy may keep a task waiting centrally only while no eligible worker has
      // room for it now (the packing scorers bind a task only where it can start).
      for (const WorkerId e : cluster_.eligible()) {
        EXPECT_FALSE(cluster_.fits_free(e, cluster_.shape())) << "kept a task waiting though worker " << e
                                                              << " has room for it";
      }
      ++waits_;
      return kNoWorker;
    }
    EXPECT_TRUE(cluster_.is_eligible(*w)) << "picked ineligible worker " << *w;
    return *w;
  }
  // Picks and dispatches: the chosen worker's load grows by one.
  WorkerId dispatch() {
    const WorkerId w = pick();
    if (w == kNoWorker) return w;
    Task t = task_;
    t.worker = w;
    t.dispatched = now_;
    t.start = now_;
    if (dispatched_.size() <= w) dispatched_.resize(w + 1);
    dispatched_[w].push_back(t);
    set_load(w, load(w) + 1);
    return w;
  }
  // Worker w reports its oldest task finished (the policy hears it first, as from the
  // Scheduler), or just sheds one of its load if it holds none of ours.
  void complete(WorkerId w) {
    if (w < dispatched_.size() && !dispatched_[w].empty()) {
      const Task t = dispatched_[w].front();
      dispatched_[w].erase(dispatched_[w].begin());
      policy_->on_task_finished(cluster_, w, t, now_);
    }
    set_load(w, load(w) - 1);
  }
  // Submits a job of `tasks` tasks (a fork-join with data on its edges) to the policy; its
  // tasks are picked for next, in order.
  void submit_job(std::uint32_t tasks) {
    JobSpec job;
    for (std::uint32_t i = 0; i < tasks; ++i) {
      TaskSpec t = synthetic_task(TaskKind::kBurn, 1e9 * (1 + i % 3));
      if (i > 0) t.parents.push_back(0);
      if (i > 1 && i + 1 == tasks) t.parents.push_back(i - 1);
      t.parent_bytes.assign(t.parents.size(), 1e6);
      job.tasks.push_back(t);
    }
    JobPlan plan{std::vector<double>(tasks, 0), {}};
    policy_->on_job_submitted(cluster_, job, next_task_, now_, plan);
    EXPECT_EQ(plan.priorities.size(), tasks);
    EXPECT_TRUE(plan.workers.empty() || plan.workers.size() == tasks);
    for (std::uint32_t i = 0; i < tasks; ++i) ready_.push_back(next_task_++);
  }
  // Time passes (the policies read it through the cluster).
  void advance(Time dt) {
    now_ += dt;
    cluster_.set_now(now_);
  }

  std::uint32_t load(WorkerId w) const { return cluster_.worker(w).in_system; }
  std::uint32_t min_eligible_load() const {
    std::uint32_t m = ~0u;
    for (const WorkerId w : cluster_.eligible()) m = std::min(m, load(w));
    return m;
  }
  ClusterState& cluster() { return cluster_; }
  Policy& policy() { return *policy_; }
  Rng& rng() { return rng_; }
  // Picks that kept the task waiting (nothing eligible had room for it).
  int waits() const { return waits_; }

 private:
  void changed(WorkerId w) {
    cluster_.refresh(w);
    policy_->on_worker_changed(cluster_, w);
  }

  ClusterState cluster_;
  Rng rng_;
  Task task_;
  TaskId next_task_ = 0;
  std::vector<TaskId> ready_;                 // tasks of submitted jobs, not yet picked
  std::vector<std::vector<Task>> dispatched_;  // per worker, in dispatch order
  Time now_ = 0;
  int waits_ = 0;
  std::unique_ptr<Policy> policy_;
};

std::vector<WorkerId> picks(Harness& h, int n) {
  std::vector<WorkerId> out;
  for (int i = 0; i < n; ++i) out.push_back(h.pick());
  return out;
}

// Pearson's statistic of observed counts against expected probabilities.
double chi_square(const std::vector<int>& counts, const std::vector<double>& probs, int n) {
  double chi2 = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const double expected = probs[i] * n;
    chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  return chi2;
}

// ---------------------------------------------------------------- round_robin

TEST(RoundRobin, CyclesInIdOrder) {
  Harness h("round_robin");
  h.add_n(4);
  EXPECT_EQ(picks(h, 9), (std::vector<WorkerId>{0, 1, 2, 3, 0, 1, 2, 3, 0}));
}

TEST(RoundRobin, SkipsIneligibleAndResumesWithReturningAndNewWorkers) {
  Harness h("round_robin", /*queue_cap=*/0);
  h.add_n(4);
  h.set_alive(1, false);
  h.set_load(3, 1);  // full under late binding
  EXPECT_EQ(picks(h, 4), (std::vector<WorkerId>{0, 2, 0, 2}));
  h.set_alive(1, true);
  h.add();  // id 4
  // The cycle resumes after the last pick (2), not at 0.
  EXPECT_EQ(picks(h, 4), (std::vector<WorkerId>{4, 0, 1, 2}));
  h.set_load(3, 0);
  EXPECT_EQ(picks(h, 5), (std::vector<WorkerId>{3, 4, 0, 1, 2}));
}

TEST(RoundRobin, MatchesNaiveScanOnLargeSparseClusters) {
  // Enough workers for both levels of the bitset, with eligibility flipping at random.
  Harness h("round_robin");
  const int n = 9000;
  h.add_n(n);
  Rng rng(7);
  std::size_t next = 0;
  for (int round = 0; round < 3000; ++round) {
    for (int k = 0; k < 20; ++k) {
      const auto w = static_cast<WorkerId>(rng.uniform_int(n));
      h.set_alive(w, rng.uniform01() < 0.02);  // mostly dead: long gaps
    }
    if (h.cluster().eligible().empty()) h.set_alive(0, true);
    std::size_t expected = next;
    while (!h.cluster().is_eligible(static_cast<WorkerId>(expected % n))) ++expected;
    expected %= n;
    ASSERT_EQ(h.pick(), expected);
    next = expected + 1;
  }
}

// ---------------------------------------------------------------- random

TEST(Random, UniformOverEligibleOnly) {
  Harness h("random");
  h.add_n(12);
  h.set_alive(3, false);
  h.set_alive(8, false);
  const int n = 100000;
  std::map<WorkerId, int> seen;
  for (int i = 0; i < n; ++i) ++seen[h.pick()];
  EXPECT_EQ(seen.count(3), 0u);
  EXPECT_EQ(seen.count(8), 0u);
  ASSERT_EQ(seen.size(), 10u);
  std::vector<int> counts;
  for (const auto& [w, c] : seen) counts.push_back(c);
  // Chi-square with 9 degrees of freedom has mean 9 and sd sqrt(18) ~ 4.2; P(> 40) is
  // below 1e-5, while a bias of a few percent on one worker (~ 1000 draws) exceeds it.
  EXPECT_LT(chi_square(counts, std::vector<double>(10, 0.1), n), 40.0);
}

// ---------------------------------------------------------------- weighted_round_robin

TEST(WeightedRoundRobin, SmoothSequenceFor511) {
  Harness h("weighted_round_robin");
  h.add(spec_with(5));
  h.add(spec_with(1));
  h.add(spec_with(1));
  const std::vector<WorkerId> cycle = {0, 0, 1, 0, 2, 0, 0};
  for (int c = 0; c < 5; ++c) EXPECT_EQ(picks(h, 7), cycle) << "cycle " << c;
}

TEST(WeightedRoundRobin, DefaultWeightIsSpeedTimesSlots) {
  Harness h("weighted_round_robin");
  h.add(spec_with(0, /*slots=*/1, /*speed=*/2e9));  // weight 2e9
  h.add(spec_with(0, /*slots=*/2, /*speed=*/1e9));  // weight 2e9
  h.add(spec_with(0, /*slots=*/1, /*speed=*/1e9));  // weight 1e9
  for (int c = 0; c < 4; ++c) {
    std::vector<int> counts(3);
    for (const WorkerId w : picks(h, 5)) ++counts[w];
    EXPECT_EQ(counts, (std::vector<int>{2, 2, 1}));
  }
}

TEST(WeightedRoundRobin, SkipsIneligible) {
  Harness h("weighted_round_robin");
  h.add(spec_with(5));
  h.add(spec_with(1));
  h.add(spec_with(1));
  h.set_alive(0, false);
  EXPECT_EQ(picks(h, 4), (std::vector<WorkerId>{1, 2, 1, 2}));
}

// ---------------------------------------------------------------- weighted_random

TEST(WeightedRandom, FrequenciesProportionalToWeight) {
  Harness h("weighted_random");
  for (const double w : {1.0, 2.0, 3.0, 4.0, 100.0}) h.add(spec_with(w));
  h.set_alive(4, false);  // heaviest, but not eligible
  const int n = 200000;
  std::vector<int> counts(5);
  for (int i = 0; i < n; ++i) ++counts[h.pick()];
  EXPECT_EQ(counts[4], 0);
  // Each frequency has sd sqrt(p(1-p)/n) <= 0.0012; 0.006 is five sd.
  for (int w = 0; w < 4; ++w) EXPECT_NEAR(counts[w] / double(n), (w + 1) / 10.0, 0.006) << "worker " << w;

  // Follows eligibility changes.
  h.set_alive(4, true);
  h.set_alive(0, false);
  std::fill(counts.begin(), counts.end(), 0);
  for (int i = 0; i < n; ++i) ++counts[h.pick()];
  EXPECT_EQ(counts[0], 0);
  for (int w = 1; w < 5; ++w) {
    const double p = (w == 4 ? 100.0 : w + 1.0) / 109.0;
    EXPECT_NEAR(counts[w] / double(n), p, 0.006) << "worker " << w;
  }
}

TEST(WeightedRandom, NeverPicksIneligibleUnderChurnWithFractionalWeights) {
  // Non-integer weights of very different magnitudes make the Fenwick updates round.
  Harness h("weighted_random", /*queue_cap=*/0);
  Rng rng(11);
  for (int i = 0; i < 300; ++i) h.add(spec_with(std::pow(10.0, rng.uniform(-3, 6)) * 1.0000001, 2));
  for (int step = 0; step < 100000; ++step) {
    const auto w = static_cast<WorkerId>(rng.uniform_int(300));
    if (rng.uniform01() < 0.3) {
      h.set_alive(w, !h.cluster().worker(w).alive);
    } else if (h.load(w) > 0) {
      h.set_load(w, h.load(w) - 1);
    }
    if (!h.cluster().eligible().empty()) h.dispatch();  // pick() checks eligibility
  }
}

TEST(WeightedRandom, ZeroWeightsFallBackToUniform) {
  Harness h("weighted_random");
  for (int i = 0; i < 3; ++i) h.add(spec_with(0, 1, /*speed=*/0));  // weight 0
  std::vector<int> counts(3);
  for (int i = 0; i < 3000; ++i) ++counts[h.pick()];
  for (const int c : counts) EXPECT_GT(c, 800);
}

// ---------------------------------------------------------------- least_connections

TEST(LeastConnections, PicksFewestTiesToLowestId) {
  Harness h("least_connections");
  h.add_n(5);
  h.set_load(0, 3);
  h.set_load(1, 1);
  h.set_load(2, 2);
  h.set_load(3, 1);
  h.set_load(4, 0);
  h.set_alive(4, false);  // emptiest, but dead
  EXPECT_EQ(h.pick(), 1u);
  h.set_load(1, 2);
  EXPECT_EQ(h.pick(), 3u);
  h.set_load(3, 2);
  EXPECT_EQ(h.pick(), 1u);  // 1, 2, 3 tie at 2
}

TEST(LeastConnections, WeightedRanksByLoadPerCapacity) {
  Harness h("least_connections:weighted=true");
  h.add(spec_with(1));
  h.add(spec_with(4));
  EXPECT_EQ(h.pick(), 1u);  // idle: the larger worker first, 1/4 < 1/1
  h.set_load(0, 1);
  h.set_load(1, 3);
  EXPECT_EQ(h.pick(), 1u);  // (3+1)/4 = 1 < (1+1)/1 = 2
  h.set_load(1, 7);
  EXPECT_EQ(h.pick(), 0u);  // (7+1)/4 = 2 ties 2: lowest id
}

TEST(LeastConnections, MatchesBruteForceUnderChurn) {
  Harness h("least_connections");
  h.add_n(30);
  Rng rng(3);
  for (int step = 0; step < 20000; ++step) {
    const auto w = static_cast<WorkerId>(rng.uniform_int(30));
    if (rng.uniform01() < 0.1) h.set_alive(w, !h.cluster().worker(w).alive);
    if (h.load(w) > 0 && rng.uniform01() < 0.5) h.set_load(w, h.load(w) - 1);
    if (h.cluster().eligible().empty()) continue;
    WorkerId expected = kNoWorker;
    for (WorkerId v = 0; v < 30; ++v) {
      if (h.cluster().is_eligible(v) && (expected == kNoWorker || h.load(v) < h.load(expected))) expected = v;
    }
    ASSERT_EQ(h.dispatch(), expected);
  }
}

// ---------------------------------------------------------------- jsq

TEST(Jsq, NeverPicksALongerQueueUnderChurn) {
  Harness h("jsq", /*queue_cap=*/3);
  h.add_n(20);
  Rng rng(5);
  for (int step = 0; step < 50000; ++step) {
    const auto w = static_cast<WorkerId>(rng.uniform_int(20));
    const double r = rng.uniform01();
    if (r < 0.05) {
      h.set_alive(w, !h.cluster().worker(w).alive);
    } else if (r < 0.1) {
      h.set_load(w, static_cast<std::uint32_t>(rng.uniform_int(4)));  // jumps, not just +-1
    } else if (h.load(w) > 0) {
      h.set_load(w, h.load(w) - 1);
    }
    if (h.cluster().eligible().empty()) continue;
    const std::uint32_t min = h.min_eligible_load();
    const WorkerId chosen = h.dispatch();
    ASSERT_EQ(h.load(chosen) - 1, min);
  }
}

TEST(Jsq, SpreadsTiesOverAllTiedWorkers) {
  Harness h("jsq");
  h.add_n(8);
  for (WorkerId w = 0; w < 8; ++w) h.set_load(w, w % 2 == 0 ? 1 : 2);  // 0, 2, 4, 6 tie
  std::vector<int> counts(8);
  const int n = 4000;
  for (int i = 0; i < n; ++i) ++counts[h.pick()];
  // Each tied worker: mean 1000, sd sqrt(4000 * 1/4 * 3/4) ~ 27; [850, 1150] is 5.5 sd.
  for (WorkerId w = 0; w < 8; ++w) {
    if (w % 2 == 0) {
      EXPECT_GT(counts[w], 850) << "worker " << w;
      EXPECT_LT(counts[w], 1150) << "worker " << w;
    } else {
      EXPECT_EQ(counts[w], 0) << "worker " << w;
    }
  }
}

// ---------------------------------------------------------------- power_of_d

TEST(PowerOfD, TwoOfTwoAlwaysPicksTheShorter) {
  // Sampling with replacement would pick worker 1 alone a quarter of the time.
  Harness h("power_of_d:d=2");
  h.add_n(2);
  h.set_load(0, 5);
  h.set_load(1, 4);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(h.pick(), 1u);
}

TEST(PowerOfD, DAtLeastEligibleIsGlobalMin) {
  for (const char* spec : {"power_of_d:d=10", "power_of_d:d=50"}) {
    Harness h(spec);
    h.add_n(10);
    Rng rng(9);
    for (int i = 0; i < 2000; ++i) {
      h.set_load(static_cast<WorkerId>(rng.uniform_int(10)), static_cast<std::uint32_t>(rng.uniform_int(6)));
      ASSERT_EQ(h.load(h.pick()), h.min_eligible_load()) << spec;
    }
  }
}

TEST(PowerOfD, ChoiceRankFollowsDistinctSampling) {
  // Loads 0..n-1 are all different, so the choice is the minimum of the d sampled loads.
  // For d distinct uniform samples, P(choice has load r) = C(n-1-r, d-1) / C(n, d). Both
  // the sparse sampler (d*d < n) and the dense one (d*d >= n) are covered.
  struct Case {
    int n, d;
  };
  for (const Case c : {Case{5, 2}, Case{40, 3}, Case{6, 4}}) {
    Harness h("power_of_d:d=" + std::to_string(c.d));
    h.add_n(c.n);
    for (int w = 0; w < c.n; ++w) h.set_load(static_cast<WorkerId>(w), static_cast<std::uint32_t>(w));
    const int draws = 100000;
    std::vector<int> counts(c.n);
    for (int i = 0; i < draws; ++i) ++counts[h.pick()];
    const auto choose = [](int n, int k) {
      double r = 1;
      for (int i = 0; i < k; ++i) r = r * (n - i) / (i + 1);
      return r;
    };
    std::vector<int> observed;
    std::vector<double> probs;
    for (int r = 0; r < c.n; ++r) {
      const double p = choose(c.n - 1 - r, c.d - 1) / choose(c.n, c.d);
      if (p == 0) {
        EXPECT_EQ(counts[r], 0) << "n=" << c.n << " d=" << c.d << ": load " << r << " is never a minimum";
      } else {
        observed.push_back(counts[r]);
        probs.push_back(p);
      }
    }
    // At most 37 degrees of freedom: mean 37, sd ~ 8.6; 100 is more than 7 sd out.
    EXPECT_LT(chi_square(observed, probs, draws), 100.0) << "n=" << c.n << " d=" << c.d;
  }
}

TEST(PowerOfD, TiesGoToAUniformlyRandomSample) {
  Harness h("power_of_d:d=3");
  h.add_n(3);
  std::vector<int> counts(3);
  for (int i = 0; i < 3000; ++i) ++counts[h.pick()];
  // Mean 1000, sd ~ 26 each.
  for (const int c : counts) EXPECT_NEAR(c, 1000, 150);
}

// ---------------------------------------------------------------- all policies
//
// Conformance: what every policy must do, checked over every policy the registry builds
// with its default parameters, so a newly registered policy is covered without touching
// these tests.

std::vector<std::string> registered_policies() { return policy_names(); }

// Workers die, come back, fall under suspicion, join and finish tasks, and jobs are
// submitted, while the policy picks after every step; each pick is checked eligible (so
// never a dead or suspected worker, nor a full one), and a task kept waiting only while
// no eligible worker has room for it. Returns the picks that placed a task.
std::vector<WorkerId> churn(const std::string& spec, int cap, std::uint64_t seed) {
  std::vector<WorkerId> chosen;
  Harness h(spec, cap, seed);
  Rng rng(13);
  for (int i = 0; i < 12; ++i) h.add(spec_with(1 + i % 3, 1 + i % 2, 1e9 * (1 + i % 4)));
  for (int step = 0; step < 5000; ++step) {
    h.advance(0.01);
    const auto w = static_cast<WorkerId>(rng.uniform_int(h.cluster().size()));
    const double r = rng.uniform01();
    if (r < 0.02) {
      h.set_alive(w, !h.cluster().worker(w).alive);
    } else if (r < 0.04) {
      h.set_suspected(w, !h.cluster().worker(w).suspected);
    } else if (r < 0.05 && h.cluster().size() < 40) {
      h.add();
    } else if (r < 0.06) {
      h.submit_job(2 + static_cast<std::uint32_t>(rng.uniform_int(4)));
    } else if (h.load(w) > 0) {
      h.complete(w);
    }
    if (!h.cluster().eligible().empty()) {
      if (const WorkerId w = h.dispatch(); w != kNoWorker) chosen.push_back(w);
    }
    if (testing::Test::HasFailure()) {
      ADD_FAILURE() << spec << " cap " << cap << " step " << step;
      break;
    }
  }
  return chosen;
}

TEST(AllPolicies, CoverEveryRegisteredPolicy) {
  for (const std::string& spec : classic_policies()) {
    const std::string name = spec.substr(0, spec.find(':'));
    const auto all = registered_policies();
    EXPECT_NE(std::find(all.begin(), all.end(), name), all.end()) << spec;
  }
  for (const std::string& spec : registered_policies()) {
    auto p = make_policy(spec);
    ASSERT_TRUE(p.ok()) << spec << ": " << p.error();
    // Its name is a spec that builds the same policy.
    auto again = make_policy((*p)->name());
    ASSERT_TRUE(again.ok()) << spec << " -> " << (*p)->name() << ": " << again.error();
    EXPECT_EQ((*again)->name(), (*p)->name());
  }
}

TEST(AllPolicies, EveryPickIsEligibleUnderChurn) {
  for (const std::string& spec : registered_policies()) {
    for (const int cap : {-1, 0, 2}) {
      EXPECT_GT(churn(spec, cap, /*seed=*/4).size(), 1000u) << spec << " cap " << cap;  // not vacuous
      if (HasFailure()) return;
    }
  }
}

TEST(AllPolicies, DeterministicForASeed) {
  // The same events and the same seed give the same picks: a policy draws randomness only
  // from the Rng it is given, and reads no clock.
  for (const std::string& spec : registered_policies()) {
    const auto first = churn(spec, /*cap=*/2, /*seed=*/5);
    const auto second = churn(spec, /*cap=*/2, /*seed=*/5);
    EXPECT_EQ(first, second) << spec;
  }
}

TEST(AllPolicies, QueueCapZeroMeansOnlyAFreeSlot) {
  for (const std::string& spec : registered_policies()) {
    Harness h(spec, /*queue_cap=*/0);
    h.add(spec_with(0, /*slots=*/2));
    h.add(spec_with(0, /*slots=*/1));
    h.set_load(0, 2);
    EXPECT_FALSE(h.cluster().is_eligible(0));
    EXPECT_TRUE(h.cluster().is_eligible(1));
    for (int i = 0; i < 20; ++i) EXPECT_EQ(h.pick(), 1u) << spec;
    h.set_load(0, 1);  // one slot free again
    EXPECT_TRUE(h.cluster().is_eligible(0));
    h.set_load(1, 1);
    EXPECT_FALSE(h.cluster().is_eligible(1));
    for (int i = 0; i < 20; ++i) EXPECT_EQ(h.pick(), 0u) << spec;
  }
}

TEST(AllPolicies, QueueCapBoundsQueuedTasks) {
  ClusterState cluster(/*queue_cap=*/1);
  const WorkerId w = cluster.add(spec_with(0, /*slots=*/2));
  cluster.mutable_worker(w).in_system = 2;
  cluster.refresh(w);
  EXPECT_TRUE(cluster.is_eligible(w));  // both slots busy, the queue has room for one
  cluster.mutable_worker(w).in_system = 3;
  cluster.refresh(w);
  EXPECT_FALSE(cluster.is_eligible(w));
}

// ---------------------------------------------------------------- registry

TEST(Registry, BuildsEveryName) {
  for (const std::string& name : policy_names()) {
    auto p = make_policy(name);
    ASSERT_TRUE(p.ok()) << name << ": " << p.error();
  }
  for (const std::string& spec : classic_policies()) {
    auto p = make_policy(spec);
    ASSERT_TRUE(p.ok()) << spec << ": " << p.error();
  }
}

TEST(Registry, NamesCanonicalSpecs) {
  EXPECT_EQ(make_policy("power_of_d").value()->name(), "power_of_d:d=2");
  EXPECT_EQ(make_policy("power_of_d:d=3").value()->name(), "power_of_d:d=3");
  EXPECT_EQ(make_policy("least_connections:weighted=false").value()->name(), "least_connections");
  EXPECT_EQ(make_policy("jsq").value()->name(), "jsq");
}

TEST(Registry, UnknownNameListsKnownNames) {
  auto p = make_policy("fastest");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().find("'fastest'"), std::string::npos) << p.error();
  for (const std::string& name : policy_names()) EXPECT_NE(p.error().find(name), std::string::npos) << p.error();
}

TEST(Registry, UnknownParameter) {
  for (const char* spec : {"round_robin:x=1", "jsq:d=2", "power_of_d:k=2", "least_connections:weight=true"}) {
    auto p = make_policy(spec);
    ASSERT_FALSE(p.ok()) << spec;
    EXPECT_NE(p.error().find("has no parameter"), std::string::npos) << p.error();
  }
}

TEST(Registry, BadValues) {
  for (const char* spec : {"power_of_d:d=0", "power_of_d:d=abc", "power_of_d:d=-1", "power_of_d:d=2x",
                           "power_of_d:d=", "power_of_d:d=1.5", "power_of_d:d=99999999999",
                           "least_connections:weighted=yes"}) {
    auto p = make_policy(spec);
    ASSERT_FALSE(p.ok()) << spec;
    EXPECT_FALSE(p.error().empty());
  }
  EXPECT_NE(make_policy("power_of_d:d=abc").error().find("'abc'"), std::string::npos);
  EXPECT_TRUE(make_policy("power_of_d:d=1").ok());
}

}  // namespace
}  // namespace fulcrum
