// learned_bench: the cost of one decision of the learned policy, and of one learning step.
//
// BM_Decide: pick() on a cluster of N single-slot workers with mixed loads and observed
// rates — predicting each considered worker's completion time, choosing, and storing the
// chosen worker's features for training. The decided tasks then complete (not timed), so
// the table of pending features stays small, as in a steady state.
// BM_Learn: one completion: the rate update and the RLS step.
// Run: build/learned_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "core/cluster.h"
#include "core/random.h"
#include "policies/registry.h"

namespace {

using namespace fulcrum;

struct Fixture {
  explicit Fixture(std::uint32_t workers, const std::string& spec) : cluster(-1), rng(1, 1) {
    policy = std::move(*make_policy(spec));
    Rng setup(2, 1);
    for (std::uint32_t w = 0; w < workers; ++w) {
      WorkerSpec s;
      s.name = "w-" + std::to_string(w);
      s.group = w % 2 ? "a" : "b";
      cluster.add(s);
      Worker& worker = cluster.mutable_worker(w);
      worker.in_system = static_cast<std::uint32_t>(setup.uniform_int(4));
      worker.outstanding_flops = worker.in_system * 1e9;
      cluster.refresh(w);
      policy->on_worker_changed(cluster, w);
    }
    // Every worker has completed a task, so every rate is observed.
    for (std::uint32_t w = 0; w < workers; ++w) {
      Task t;
      t.id = next_id++;
      t.flops = 1e9;
      t.dispatched = 0;
      t.start = 0;
      policy->on_task_finished(cluster, w, t, 0.5 + setup.uniform01());
    }
    cluster.set_now(10);
  }
  ClusterState cluster;
  std::unique_ptr<Policy> policy;
  Rng rng;
  TaskId next_id = 0;
};

// Decisions (or completions) are timed in batches, with the other half of each task's life
// done between batches with the clock paused: pausing per iteration would cost more than
// what is measured.
constexpr int kBatch = 1024;

void BM_Decide(benchmark::State& state, const std::string& spec) {
  Fixture f(static_cast<std::uint32_t>(state.range(0)), spec);
  std::vector<std::pair<Task, WorkerId>> batch(kBatch);
  while (state.KeepRunningBatch(kBatch)) {
    for (auto& [task, w] : batch) {
      task.id = f.next_id++;
      task.flops = 1e9;
      task.dispatched = 10;
      w = *f.policy->pick(f.cluster, task, f.rng);
    }
    state.PauseTiming();
    for (auto& [task, w] : batch) {
      task.start = 10;
      f.policy->on_task_finished(f.cluster, w, task, 11);
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Learn(benchmark::State& state) {
  Fixture f(static_cast<std::uint32_t>(state.range(0)), "learned:d=2");
  std::vector<std::pair<Task, WorkerId>> batch(kBatch);
  while (state.KeepRunningBatch(kBatch)) {
    state.PauseTiming();
    for (auto& [task, w] : batch) {
      task.id = f.next_id++;
      task.flops = 1e9;
      task.dispatched = 10;
      w = *f.policy->pick(f.cluster, task, f.rng);
      task.start = 10;
    }
    state.ResumeTiming();
    for (auto& [task, w] : batch) f.policy->on_task_finished(f.cluster, w, task, 11);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_Decide, learned_d2, std::string("learned:d=2"))->ArgName("workers")->Arg(100)->Arg(10000);
BENCHMARK_CAPTURE(BM_Decide, learned_d4, std::string("learned:d=4"))->ArgName("workers")->Arg(10000);
BENCHMARK_CAPTURE(BM_Decide, learned_all, std::string("learned"))->ArgName("workers")->Arg(100)->Arg(10000);
BENCHMARK_CAPTURE(BM_Decide, power_of_d2, std::string("power_of_d:d=2"))->ArgName("workers")->Arg(10000);
BENCHMARK(BM_Learn)->ArgName("workers")->Arg(10000);

}  // namespace

BENCHMARK_MAIN();
