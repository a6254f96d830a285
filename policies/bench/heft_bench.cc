// heft_bench: how long plan_heft takes on a large job. Goal: under 1 s for 10,000 tasks on
// 1,000 hosts.
//
// The job is a random layered DAG (std::mt19937_64, fixed seed, so every run plans the same
// job): 10,000 tasks in 50 layers of 200, each task after the first layer with 3 distinct
// parents, mostly from the previous layer and sometimes from any earlier one (so transfers
// cross layers). Flops in [1e9, 1e11], edges of up to 1 GB, hosts of 1 slot with speeds in
// [1e9, 1e10] flop/s and a fifth of them already loaded. Building the job is not timed.
//
// Benchmarks: BM_Heft/<tasks>/<hosts> for the goal size and a smaller one, to show how the
// time scales. Counters: makespan (s) of the plan, tasks planned per second.
// Run: build/heft_bench (or the standalone build in heft_bench's brief).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "policies/heft.h"

namespace fulcrum {
namespace {

struct Platform {
  DagJob job;
  std::vector<HeftHost> hosts;
  HeftNetwork network;
};

Platform layered(std::uint32_t tasks, std::uint32_t hosts, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  // Own mapping: the std distributions are not the same across standard libraries.
  auto uniform = [&gen](double lo, double hi) { return lo + (hi - lo) * static_cast<double>(gen() >> 11) * 0x1.0p-53; };
  auto below = [&gen](std::uint32_t n) { return static_cast<std::uint32_t>(gen() % n); };

  Platform p;
  p.network.latency = 1e-4;
  p.network.bandwidth = 1.25e9;
  for (std::uint32_t h = 0; h < hosts; ++h) {
    HeftHost host;
    host.name = "h" + std::to_string(h);
    host.speed = uniform(1e9, 1e10);
    host.available = below(5) == 0 ? uniform(0, 50) : 0;
    p.hosts.push_back(host);
  }
  const std::uint32_t width = 200;
  p.job.name = "layered";
  p.job.tasks.resize(tasks);
  for (std::uint32_t i = 0; i < tasks; ++i) {
    p.job.tasks[i].name = "t" + std::to_string(i);
    p.job.tasks[i].flops = uniform(1e9, 1e11);
  }
  for (std::uint32_t i = width; i < tasks; ++i) {
    const std::uint32_t layer_start = i / width * width;
    std::vector<std::uint32_t> parents;
    while (parents.size() < 3) {
      const std::uint32_t parent = below(4) == 0 ? below(layer_start)                       // any earlier layer
                                                 : layer_start - width + below(width);      // the previous one
      if (std::find(parents.begin(), parents.end(), parent) != parents.end()) continue;
      parents.push_back(parent);
      DagEdge e;
      e.from = parent;
      e.to = i;
      e.bytes = uniform(0, 1e9);
      p.job.edges.push_back(e);
    }
  }
  return p;
}

void BM_Heft(benchmark::State& state) {
  const Platform p = layered(static_cast<std::uint32_t>(state.range(0)), static_cast<std::uint32_t>(state.range(1)), 7);
  double makespan = 0;
  for (auto _ : state) {
    HeftPlan plan = plan_heft(p.job, p.hosts, p.network);
    makespan = plan.makespan;
    benchmark::DoNotOptimize(plan);
  }
  state.counters["makespan_s"] = makespan;
  state.counters["tasks_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(p.job.tasks.size()),
                         benchmark::Counter::kIsRate);
}

BENCHMARK(BM_Heft)->Args({1000, 100})->Args({10000, 1000})->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fulcrum

BENCHMARK_MAIN();
