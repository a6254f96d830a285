// core_bench: how many events per second the scheduling core handles, per policy.
//
// One benchmark iteration is a steady-state event pair on a cluster of single-slot
// workers: a one-task job is submitted, and the oldest outstanding dispatched task
// finishes. Before timing, the system is filled with kTasksPerWorker tasks per worker, so
// the population (and every queue) stays bounded while the clock runs. The commands are
// drained into a reused vector after each event and the dispatches recorded in a FIFO,
// which is how the oldest outstanding task is found. items_processed counts events
// (2 per iteration), so the output's items_per_second is events/s.
//
// Cost model: the Scheduler's TaskTable keeps one Task row per submitted task (it never
// forgets), so a run also pays for that growth; each benchmark run starts from a fresh
// Scheduler. Memory grows by ~100 bytes per iteration (a few hundred MB at most with the
// default --benchmark_min_time; keep min_time short on small machines).
//
// Comparing two builds: the cost per event depends on how large the task table has grown
// (page faults, cache misses), and Google Benchmark picks the iteration count from the
// time the first trials take, so two builds timed by min_time do different work and a
// faster build is charged for a larger table. `--events N` pins every benchmark to N
// iterations (2N events), so both sides of a comparison do exactly the same work.
//
// Benchmarks: every classic policy x {100, 10000} workers with unbounded local queues,
// plus late binding (queue_cap 0: a task waits centrally until a worker is idle) for jsq
// and power_of_d:d=2, and resources (issue 16) for jsq and power_of_d:d=2: workers with
// 4 cores, 16 GiB and 2 GPUs, half of them labelled disk=ssd, and tasks asking for a core,
// 2 GiB and a GPU on disk=ssd, so feasibility filters by three dimensions and a label.
// Run: build/core_bench --benchmark_min_time=0.2, or to compare builds,
// build/core_bench --events 600000 (see below)
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/scheduler.h"
#include "policies/registry.h"

namespace {

using namespace fulcrum;

constexpr int kTasksPerWorker = 2;

struct Outstanding {
  TaskId task;
  WorkerId worker;
  Time dispatched;
};

void record_dispatches(const std::vector<Command>& commands, Time now, std::deque<Outstanding>& out) {
  for (const Command& c : commands) {
    if (c.kind == Command::Kind::kDispatch) out.push_back({c.task, c.worker, now});
  }
}

void bm_events(benchmark::State& state, const std::string& policy_spec, int queue_cap, bool resources) {
  const auto workers = static_cast<std::uint32_t>(state.range(0));
  auto policy = make_policy(policy_spec);
  if (!policy) {
    state.SkipWithError(policy.error().c_str());
    return;
  }
  Scheduler scheduler(SchedulerConfig{/*seed=*/1, queue_cap, /*epoch=*/1}, std::move(*policy));
  const std::string group = "w";
  for (std::uint32_t w = 0; w < workers; ++w) {
    WorkerSpec spec;
    spec.name = group + "-" + std::to_string(w);
    spec.group = group;  // (not = "w": GCC 12 -O3 gives a false -Wrestrict for that)
    if (resources) {
      spec.slots = 4;
      spec.resources.memory = 16.0 * (1 << 30);
      spec.resources.gpus = 2;
      spec.labels["disk"] = w % 2 == 0 ? "ssd" : "hdd";
    }
    scheduler.on_worker_joined(0, spec);
  }

  JobSpec job{{TaskSpec{1e9, {}}}};
  if (resources) {
    job.tasks[0].request = Resources{1, 2.0 * (1 << 30), 1, {}};
    job.tasks[0].require["disk"] = "ssd";
  }
  std::vector<Command> commands;
  std::deque<Outstanding> outstanding;
  Time now = 0;
  // Pre-fill: kTasksPerWorker tasks per worker in the system (under late binding, one
  // runs on each worker and the rest wait in the central queue).
  for (std::uint64_t i = 0; i < std::uint64_t{kTasksPerWorker} * workers; ++i) {
    now += 1e-6;
    scheduler.on_job_submitted(now, job);
    scheduler.take_commands(commands);
    record_dispatches(commands, now, outstanding);
  }
  if (outstanding.empty()) {
    state.SkipWithError("nothing was dispatched during the pre-fill");
    return;
  }

  for (auto _ : state) {
    now += 1e-6;
    scheduler.on_job_submitted(now, job);
    scheduler.take_commands(commands);
    record_dispatches(commands, now, outstanding);

    const Outstanding done = outstanding.front();
    outstanding.pop_front();
    scheduler.on_task_finished(now, done.task, done.worker, done.dispatched);
    scheduler.take_commands(commands);
    record_dispatches(commands, now, outstanding);
  }
  benchmark::DoNotOptimize(scheduler.tasks_unfinished());
  state.SetItemsProcessed(2 * state.iterations());
  state.counters["unfinished"] = static_cast<double>(scheduler.tasks_unfinished());
  state.counters["table_tasks"] = static_cast<double>(scheduler.table().tasks.size());
}

void register_all(std::int64_t iterations) {
  struct Variant {
    std::string spec;
    int queue_cap;
    bool resources = false;
  };
  std::vector<Variant> variants;
  for (const std::string& spec : classic_policies()) variants.push_back({spec, -1});
  variants.push_back({"jsq", 0});
  variants.push_back({"power_of_d:d=2", 0});
  variants.push_back({"jsq", -1, true});
  variants.push_back({"power_of_d:d=2", -1, true});
  for (const Variant& v : variants) {
    const std::string name =
        "events/" + v.spec + (v.queue_cap == 0 ? "/late_binding" : "") + (v.resources ? "/resources" : "");
    auto* b = benchmark::RegisterBenchmark(
        name.c_str(), [v](benchmark::State& state) { bm_events(state, v.spec, v.queue_cap, v.resources); });
    b->ArgName("workers")->Arg(100)->Arg(10000)->Unit(benchmark::kNanosecond);
    if (iterations > 0) b->Iterations(iterations);
  }
}

// Takes `--events N` (or `--events=N`) out of argv; 0 when absent. Exits on a bad N.
std::int64_t take_events_flag(int& argc, char** argv) {
  std::int64_t events = 0;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    if (arg == "--events" && i + 1 < argc) {
      value = argv[++i];
    } else if (arg.rfind("--events=", 0) == 0) {
      value = arg.substr(9);
    } else {
      argv[out++] = argv[i];
      continue;
    }
    char* end = nullptr;
    events = std::strtoll(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || events < 2) {
      std::fprintf(stderr, "core_bench: --events wants an integer >= 2, got '%s'\n", value.c_str());
      std::exit(2);
    }
  }
  argc = out;
  argv[out] = nullptr;
  return events;
}

}  // namespace

int main(int argc, char** argv) {
  register_all(take_events_flag(argc, argv) / 2);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
