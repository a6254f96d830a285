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
// events (N / 2 iterations of events/, N of backfill/), so both sides of a comparison do
// exactly the same work.
//
// Benchmarks: every classic policy x {100, 10000} workers with unbounded local queues,
// plus late binding (queue_cap 0: a task waits centrally until a worker is idle) for jsq
// and power_of_d:d=2, and resources (issue 16) for jsq and power_of_d:d=2: workers with
// 4 cores, 16 GiB and 2 GPUs, half of them labelled disk=ssd, and tasks asking for a core,
// 2 GiB and a GPU on disk=ssd, so feasibility filters by three dimensions and a label.
//
// Backfilling (issue 17): backfill/{easy,conservative}/workers:{100,10000}, late binding
// (queue_cap 0), first_fit, 1-core workers, rigid jobs (gangs) from a seeded stream:
// widths uniform on 1-32, one gang in 32 a large one (a sixteenth to a quarter of the
// workers), estimates uniform on [1 min, 4 h] in whole seconds, run times a uniform 10-100 %
// of the estimate. Before timing, the cluster is filled and 10,000 gangs wait (see
// bm_backfill). The clock then runs on the steady state of a closed system: the running
// gang with the earliest end ends (its members reported finished one by one, at its end),
// and one new gang arrives at that instant, so about 10,000 gangs keep waiting. Each
// iteration is one event (a member's completion or an arrival), each followed by a pass,
// as in real mode (pass_per_instant off), so the time per iteration, and the counter
// us_per_event, is the time per event. backfill/{easy,conservative}/per_instant/...: the
// same events with one pass per instant, as simulation runs backfilling (pass_per_instant;
// on_instant_end after the instant's completions and arrival, timed with the arrival). A
// conservative pass at 10,000 waiting gangs rebuilds up to 10,000 reservations: give it
// few events (--events 20, or 200 per instant, where a pass comes once per gang's end).
// Run: build/core_bench --benchmark_min_time=0.2, or to compare builds,
// build/core_bench --events 600000 (see below)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
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

// The backfilling benchmark's jobs: a gang of `width` 1-core tasks (flops at 1 Gflop/s
// make its run time) and the submitter's estimate.
JobSpec next_gang(Rng& rng, std::uint32_t workers, double& runtime) {
  std::uint32_t width = 1 + static_cast<std::uint32_t>(rng.uniform_int(std::min(32u, workers)));
  if (rng.uniform_int(32) == 0) {
    width = workers / 16 + static_cast<std::uint32_t>(rng.uniform_int(workers / 4 - workers / 16 + 1));
  }
  const double estimate = 60 + static_cast<double>(rng.uniform_int(4 * 3600 - 60 + 1));
  runtime = std::max(1.0, std::round(estimate * rng.uniform(0.1, 1.0)));
  TaskSpec task{runtime * 1e9, {}};
  task.estimate = estimate;
  JobSpec job;
  job.gang = true;
  job.tasks.assign(width, task);
  return job;
}

constexpr std::uint64_t kWaitingGangs = 10000;

void bm_backfill(benchmark::State& state, SchedulerConfig::Backfill backfill, bool per_instant) {
  const auto workers = static_cast<std::uint32_t>(state.range(0));
  SchedulerConfig config{/*seed=*/1, /*queue_cap=*/0, /*epoch=*/1};
  config.backfill = backfill;
  config.pass_per_instant = per_instant;
  Scheduler scheduler(config, std::move(*make_policy("first_fit")));
  const std::string group = "w";
  for (std::uint32_t w = 0; w < workers; ++w) {
    WorkerSpec spec;
    spec.name = group + "-" + std::to_string(w);
    spec.group = group;
    scheduler.on_worker_joined(0, spec);
  }

  Rng rng(/*seed=*/17, /*stream=*/3);
  std::vector<double> runtime;  // by job
  // Running gangs by end, earliest first (then the lower job id).
  using Ending = std::pair<Time, JobId>;
  std::priority_queue<Ending, std::vector<Ending>, std::greater<>> running;
  std::uint64_t started = 0;
  std::vector<Command> commands;
  Time now = 0;
  // A gang's members are dispatched together, its first task first: that one records it.
  const auto drain = [&] {
    scheduler.take_commands(commands);
    for (const Command& c : commands) {
      if (c.kind != Command::Kind::kDispatch) continue;
      const JobId job = scheduler.table().tasks[c.task].job;
      if (c.task != scheduler.table().jobs[job].first_task) continue;
      running.emplace(now + runtime[job], job);
      ++started;
    }
  };
  const auto submit = [&] {
    double r = 0;
    const JobSpec job = next_gang(rng, workers, r);
    runtime.push_back(r);
    scheduler.on_job_submitted(now, job);
    drain();
  };
  const auto waiting = [&] { return runtime.size() - started; };
  // Pre-fill: the missing waiting gangs arrive under a dispatch hold (begin_recovery), so
  // that they cost one pass rather than one each; the pass at the hold's end
  // (on_instant_end) starts what the discipline lets start, which fills the cluster; again
  // until 10,000 wait.
  while (waiting() < kWaitingGangs) {
    scheduler.begin_recovery(now, 1);
    for (std::uint64_t n = waiting(); n < kWaitingGangs; ++n) submit();
    now += 1;
    scheduler.on_instant_end(now);
    drain();
  }

  // The gang ending now, and its members still to be reported.
  TaskId member = 0;
  TaskId last = 0;
  const auto next_end = [&] {
    if (running.empty()) return false;
    const auto [end, job] = running.top();
    running.pop();
    now = std::max(now, end);
    member = scheduler.table().jobs[job].first_task;
    last = member + scheduler.table().jobs[job].task_count;
    return true;
  };
  if (!next_end()) {
    state.SkipWithError("nothing runs after the pre-fill");
    return;
  }
  const auto began = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (member < last) {
      const Task& task = scheduler.table().tasks[member];
      scheduler.on_task_finished(now, member, task.worker, task.dispatched);
      drain();
      ++member;
      continue;
    }
    submit();
    if (per_instant) {
      scheduler.on_instant_end(now);
      drain();
    }
    if (!next_end()) {
      state.SkipWithError("nothing runs");
      break;
    }
  }
  const std::chrono::duration<double, std::micro> elapsed = std::chrono::steady_clock::now() - began;
  state.SetItemsProcessed(state.iterations());
  state.counters["us_per_event"] = elapsed.count() / static_cast<double>(state.iterations());
  state.counters["waiting"] = static_cast<double>(waiting());
}

void register_all(std::int64_t events) {
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
    if (events > 0) b->Iterations(events / 2);
  }
  for (const bool per_instant : {false, true}) {
    for (const auto& [name, backfill] : {std::pair{"easy", SchedulerConfig::Backfill::kEasy},
                                         std::pair{"conservative", SchedulerConfig::Backfill::kConservative}}) {
      const std::string full = std::string("backfill/") + name + (per_instant ? "/per_instant" : "");
      auto* b = benchmark::RegisterBenchmark(full.c_str(), [backfill, per_instant](benchmark::State& state) {
        bm_backfill(state, backfill, per_instant);
      });
      b->ArgName("workers")->Arg(100)->Arg(10000)->Unit(benchmark::kMicrosecond);
      if (events > 0) b->Iterations(events);
    }
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
  register_all(take_events_flag(argc, argv));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
