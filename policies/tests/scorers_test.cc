// The packing scorers (policies/scorer.h) against brute force: random heterogeneous
// workers and requests in three dimensions, tasks placed and removed as the Scheduler
// would (hold, refresh, tell the policy), each pick checked against every worker's score
// recomputed from this test's own account of what each worker holds. Then each scorer's
// defining property on its own: binpack fills a host before opening another, spread the
// opposite, tetris prefers the host whose free resources line up with the request.
#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/cluster.h"
#include "core/policy.h"
#include "core/random.h"
#include "policies/registry.h"

namespace fulcrum {
namespace {

constexpr double kGiB = 1024.0 * 1024 * 1024;
constexpr std::size_t kDims = 3;  // cores, memory, GPUs
using Vec = std::array<double, kDims>;

// A cluster, a policy and this test's own ledger of what each worker holds.
class Bench {
 public:
  Bench(const std::string& policy, int queue_cap) : cluster_(queue_cap), rng_(3, 2) {
    auto made = make_policy(policy);
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error());
    policy_ = std::move(*made);
  }

  // memory 0: not limited.
  WorkerId add(double cores, double memory, double gpus) {
    WorkerSpec spec;
    spec.name = "w" + std::to_string(cluster_.size());
    spec.slots = static_cast<int>(cores);
    spec.resources.memory = memory;
    spec.resources.gpus = gpus;
    const WorkerId w = cluster_.add(spec);
    capacity_.push_back({cores, memory <= 0 ? std::numeric_limits<double>::infinity() : memory, gpus});
    used_.push_back({0, 0, 0});
    held_.emplace_back();
    changed(w);
    return w;
  }

  // Asks the policy where a task with this request goes; places it there when it names
  // a worker.
  std::optional<WorkerId> place(const Vec& request) {
    TaskSpec spec;
    spec.request.cores = request[0];
    spec.request.memory = request[1];
    spec.request.gpus = request[2];
    const ShapeId s = cluster_.shape_of(spec);
    for (WorkerId w = 0; w < cluster_.size(); ++w) cluster_.refresh(w);  // a new shape
    cluster_.set_shape(s);
    Task task;
    task.id = next_task_++;
    task.shape = s;
    std::optional<WorkerId> w;
    if (!cluster_.eligible().empty()) w = policy_->pick(cluster_, task, rng_);
    if (!w) return w;
    EXPECT_TRUE(cluster_.is_eligible(*w));
    cluster_.hold(*w, s, +1);
    ++cluster_.mutable_worker(*w).in_system;
    for (std::size_t d = 0; d < kDims; ++d) used_[*w][d] += request[d];
    held_[*w].push_back({s, request});
    changed(*w);
    return w;
  }

  // Puts a task with this request on w, whatever the policy would say.
  void put(WorkerId w, const Vec& request) {
    TaskSpec spec;
    spec.request.cores = request[0];
    spec.request.memory = request[1];
    spec.request.gpus = request[2];
    const ShapeId s = cluster_.shape_of(spec);
    cluster_.hold(w, s, +1);
    ++cluster_.mutable_worker(w).in_system;
    for (std::size_t d = 0; d < kDims; ++d) used_[w][d] += request[d];
    held_[w].push_back({s, request});
    for (WorkerId v = 0; v < cluster_.size(); ++v) changed(v);
  }

  // The oldest task on w leaves it.
  void finish_one(WorkerId w) {
    if (held_[w].empty()) return;
    const Held h = held_[w].front();
    held_[w].erase(held_[w].begin());
    cluster_.hold(w, h.shape, -1);
    --cluster_.mutable_worker(w).in_system;
    for (std::size_t d = 0; d < kDims; ++d) used_[w][d] -= h.request[d];
    changed(w);
  }

  bool fits(WorkerId w, const Vec& request) const {
    for (std::size_t d = 0; d < kDims; ++d) {
      if (request[d] > 0 && used_[w][d] + request[d] > capacity_[w][d] + 1e-9) return false;
    }
    return true;
  }
  const Vec& used(WorkerId w) const { return used_[w]; }
  const Vec& capacity(WorkerId w) const { return capacity_[w]; }
  std::size_t tasks_on(WorkerId w) const { return held_[w].size(); }
  std::size_t size() const { return cluster_.size(); }

 private:
  struct Held {
    ShapeId shape;
    Vec request;
  };
  void changed(WorkerId w) {
    cluster_.refresh(w);
    policy_->on_worker_changed(cluster_, w);
  }

  ClusterState cluster_;
  Rng rng_;
  std::unique_ptr<Policy> policy_;
  TaskId next_task_ = 0;
  std::vector<Vec> capacity_, used_;
  std::vector<std::vector<Held>> held_;
};

// The dimensions a worker has a finite, positive amount of.
bool counted(const Vec& capacity, std::size_t d) { return std::isfinite(capacity[d]) && capacity[d] > 0; }

// What each scorer maximises, restated from its definition.
double most_allocated(const Bench& b, WorkerId w, const Vec& r) {
  double sum = 0;
  int n = 0;
  for (std::size_t d = 0; d < kDims; ++d) {
    if (!counted(b.capacity(w), d)) continue;
    sum += (b.used(w)[d] + r[d]) / b.capacity(w)[d];
    ++n;
  }
  return n == 0 ? 0 : sum / n;
}
double least_allocated(const Bench& b, WorkerId w, const Vec& r) { return -most_allocated(b, w, r); }
double alignment(const Bench& b, WorkerId w, const Vec& r) {
  double dot = 0;
  for (std::size_t d = 0; d < kDims; ++d) {
    if (!counted(b.capacity(w), d)) continue;
    const double c = b.capacity(w)[d];
    dot += r[d] / c * ((c - b.used(w)[d]) / c);
  }
  return dot;
}
double lowest_id(const Bench&, WorkerId w, const Vec&) { return -static_cast<double>(w); }

struct Case {
  const char* policy;
  std::function<double(const Bench&, WorkerId, const Vec&)> score;
};

// Random clusters and requests, arrivals and departures mixed; queue caps -1 (every fit
// worker is eligible) and 0 (only those with room now are).
TEST(Scorers, EachPickIsTheBestScoredFittingWorkerByBruteForce) {
  const std::vector<Case> cases = {{"first_fit", lowest_id},
                                   {"binpack", most_allocated},
                                   {"spread", least_allocated},
                                   {"tetris", alignment}};
  for (const Case& c : cases) {
    for (const int cap : {-1, 0}) {
      for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        Bench b(c.policy, cap);
        Rng rng(seed, 9);
        const int workers = 2 + static_cast<int>(rng.uniform_int(7));
        for (int i = 0; i < workers; ++i) {
          const double memory = rng.uniform01() < 0.2 ? 0 : (1 + static_cast<double>(rng.uniform_int(16))) * kGiB;
          b.add(1 + static_cast<double>(rng.uniform_int(8)), memory, static_cast<double>(rng.uniform_int(3)));
        }
        int placed = 0, waited = 0;
        for (int step = 0; step < 300; ++step) {
          if (rng.uniform01() < 0.35) {
            b.finish_one(static_cast<WorkerId>(rng.uniform_int(b.size())));
            continue;
          }
          const Vec r = {0.5 * static_cast<double>(1 + rng.uniform_int(6)),
                         static_cast<double>(rng.uniform_int(9)) * 0.5 * kGiB,
                         rng.uniform01() < 0.2 ? 1.0 : 0.0};
          std::vector<WorkerId> fitting;
          double best = -std::numeric_limits<double>::infinity();
          for (WorkerId w = 0; w < b.size(); ++w) {
            if (!b.fits(w, r)) continue;
            fitting.push_back(w);
            best = std::max(best, c.score(b, w, r));
          }
          // The scores before the pick changes the ledger.
          std::vector<double> scores(b.size());
          for (const WorkerId w : fitting) scores[w] = c.score(b, w, r);
          const std::optional<WorkerId> got = b.place(r);
          if (fitting.empty()) {
            ASSERT_FALSE(got.has_value()) << c.policy << " placed a task that fits nowhere, seed " << seed;
            ++waited;
            continue;
          }
          ASSERT_TRUE(got.has_value()) << c.policy << " kept waiting a task that fits, seed " << seed;
          ASSERT_TRUE(std::find(fitting.begin(), fitting.end(), *got) != fitting.end())
              << c.policy << " picked worker " << *got << " where the task does not fit, seed " << seed;
          ASSERT_GE(scores[*got], best - 1e-9) << c.policy << " seed " << seed << " step " << step;
          // Ties go to the lowest id: no lower worker scores as well.
          for (const WorkerId w : fitting) {
            if (w >= *got) break;
            ASSERT_LT(scores[w], scores[*got] - 1e-12) << c.policy << " seed " << seed << " tie not to worker " << w;
          }
          ++placed;
        }
        EXPECT_GT(placed, 50) << c.policy;  // not vacuous
        if (seed == 20) {
          EXPECT_GT(waited, 0) << c.policy;  // full clusters were seen too
        }
      }
    }
  }
}

// Identical 4-core hosts and one-core tasks, some leaving: binpack never opens an empty
// host while a used one still has room.
TEST(Binpack, FillsAHostBeforeOpeningAnother) {
  Bench b("binpack", -1);
  for (int i = 0; i < 6; ++i) b.add(4, 16 * kGiB, 0);
  Rng rng(7, 1);
  int opened_early = 0;
  for (int step = 0; step < 2000; ++step) {
    if (rng.uniform01() < 0.4) {
      b.finish_one(static_cast<WorkerId>(rng.uniform_int(b.size())));
      continue;
    }
    bool used_with_room = false;
    for (WorkerId w = 0; w < b.size(); ++w) used_with_room |= b.tasks_on(w) > 0 && b.tasks_on(w) < 4;
    const auto got = b.place({1, 2 * kGiB, 0});
    if (got && b.tasks_on(*got) == 1 && used_with_room) ++opened_early;
  }
  EXPECT_EQ(opened_early, 0);
}

// Spread puts each task on a host holding the fewest tasks (identical hosts and tasks).
TEST(Spread, PutsEachTaskWhereTheFewestAre) {
  Bench b("spread", -1);
  for (int i = 0; i < 6; ++i) b.add(4, 16 * kGiB, 0);
  Rng rng(8, 1);
  for (int step = 0; step < 2000; ++step) {
    if (rng.uniform01() < 0.4) {
      b.finish_one(static_cast<WorkerId>(rng.uniform_int(b.size())));
      continue;
    }
    std::size_t fewest = ~std::size_t{0};
    for (WorkerId w = 0; w < b.size(); ++w) fewest = std::min(fewest, b.tasks_on(w));
    const auto got = b.place({1, 2 * kGiB, 0});
    if (!got) continue;
    ASSERT_EQ(b.tasks_on(*got) - 1, fewest) << "step " << step;
  }
}

// Two 8-core, 16 GiB hosts: host 0 has cores left and little memory (7 cores, 4 GiB
// free), host 1 the reverse (2 cores, 15 GiB). Tetris sends a core-heavy task to host 0
// and a memory-heavy one to host 1; binpack sends both to the fuller host 0, spread both
// to host 1. (Scores worked by hand: tetris 0.227 vs 0.092, then 0.102 vs 0.191.)
TEST(Tetris, SendsEachRequestWhereItsDimensionsAreFree) {
  const auto pick = [](const char* policy, const Vec& r) {
    Bench b(policy, -1);
    b.add(8, 16 * kGiB, 0);
    b.add(8, 16 * kGiB, 0);
    b.put(0, {1, 12 * kGiB, 0});
    b.put(1, {6, 1 * kGiB, 0});
    const auto w = b.place(r);
    return w ? *w : kNoWorker;
  };
  const Vec core_heavy = {2, 0.5 * kGiB, 0};
  const Vec memory_heavy = {0.5, 3 * kGiB, 0};
  EXPECT_EQ(pick("tetris", core_heavy), 0u);
  EXPECT_EQ(pick("tetris", memory_heavy), 1u);
  EXPECT_EQ(pick("binpack", core_heavy), 0u);
  EXPECT_EQ(pick("binpack", memory_heavy), 0u);
  EXPECT_EQ(pick("spread", core_heavy), 1u);
  EXPECT_EQ(pick("spread", memory_heavy), 1u);
}

}  // namespace
}  // namespace fulcrum
