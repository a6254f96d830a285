// Hosts run by resources in simulation (sim/executors.cc): a host's tasks start in FIFO
// order when their whole request fits what is free, so no host is ever over-committed in any
// dimension (checked from the records, sim/tests/occupancy.h); zones are SimGrid netzones
// joined by their links (sim/platform.cc); a zone outage loses nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "model/arrivals.h"
#include "scenario/load.h"
#include "sim/isolated.h"
#include "sim/tests/occupancy.h"

namespace fulcrum {
namespace {

Scenario load(const std::string& yaml, const std::string& name = "resources.yaml") {
  auto s = load_scenario_text(yaml, std::string(FULCRUM_SOURCE_DIR) + "/examples/" + name);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
  return s.ok() ? *s : Scenario{};
}

// Each synthetic task's request, drawn again as the simulator drew it (the arrivals and the
// classes come from streams of their own, task i is the i-th arrival).
std::vector<Resources> synthetic_requests(const Scenario& s) {
  ArrivalStream arrivals(s.workload, s.seed);
  TaskClassStream classes(s.classes, s.seed);
  std::vector<Resources> out;
  Arrival a;
  while (arrivals.next(a)) out.push_back(classes.next(a).request);
  return out;
}

std::vector<Resources> capacities(const Scenario& s) {
  std::vector<Resources> out;
  for (const WorkerSpec& w : worker_specs(s.cluster)) out.push_back(w.capacity());
  return out;
}

// No host over-committed at any instant (the runs use 1 ns links: reports take ~26 ns).
void expect_never_overcommitted(const Scenario& s, const RunRecords& r, double report_delay = 1e-6) {
  const std::vector<Resources> requests = synthetic_requests(s);
  ASSERT_EQ(requests.size(), r.tasks.size());
  const auto spans = testing::occupancies(r, [&](const TaskRecord& t) { return requests.at(t.id); }, report_delay);
  EXPECT_EQ(testing::first_overcommit(spans, capacities(s)), "");
}

// The most tasks that ran at once on any host.
std::size_t most_at_once(const RunRecords& r, double report_delay = 1e-6) {
  std::map<std::uint32_t, std::vector<std::pair<double, int>>> edges;
  for (const TaskRecord& t : r.tasks) {
    if (t.state != TaskState::kFinished) continue;
    edges[t.worker].push_back({t.start, +1});
    edges[t.worker].push_back({t.end - report_delay, -1});
  }
  std::size_t most = 0;
  for (auto& [host, e] : edges) {
    std::sort(e.begin(), e.end());
    int now = 0;
    for (const auto& [time, sign] : e) most = std::max<std::size_t>(most, now += sign);
  }
  return most;
}

// Everything submitted either finished or failed for good, and each completion counted once.
void expect_nothing_lost(const RunRecords& r) {
  EXPECT_EQ(r.summary.tasks_lost, 0u);
  EXPECT_EQ(r.summary.tasks_completed + r.summary.tasks_failed, r.summary.tasks_submitted);
  std::uint64_t per_worker = 0;
  for (const WorkerRecord& w : r.workers) per_worker += w.tasks;
  EXPECT_EQ(per_worker, r.summary.tasks_completed);
  for (const TaskRecord& t : r.tasks) {
    EXPECT_TRUE(t.state == TaskState::kFinished || t.state == TaskState::kFailed) << "task " << t.id;
  }
}

// The checker finds what it must: an over-commitment in any dimension, not a hand-over.
// The scenario run again gives the same records: when, where and how often each task ran.
void expect_same_run_again(const Scenario& s, const RunRecords& first) {
  auto again = sim::simulate(s);
  ASSERT_TRUE(again.ok()) << again.error();
  ASSERT_EQ(again->tasks.size(), first.tasks.size());
  for (std::size_t i = 0; i < first.tasks.size(); ++i) {
    ASSERT_EQ(again->tasks[i].start, first.tasks[i].start) << "task " << i;
    ASSERT_EQ(again->tasks[i].end, first.tasks[i].end) << "task " << i;
    ASSERT_EQ(again->tasks[i].worker, first.tasks[i].worker) << "task " << i;
    ASSERT_EQ(again->tasks[i].attempts, first.tasks[i].attempts) << "task " << i;
  }
}

TEST(Occupancy, FindsOvercommitmentsAndOnlyThose) {
  const std::vector<Resources> capacity{Resources{.cores = 4, .memory = 8, .gpus = 1}};
  auto span = [](double start, double end, Resources request, TaskId task) {
    return testing::Occupancy{0, start, end, std::move(request), task};
  };
  // Back to back, and side by side within capacity: fine.
  EXPECT_EQ(testing::first_overcommit({span(0, 1, {.cores = 4}, 1), span(1, 2, {.cores = 4}, 2),
                                       span(1.5, 3, {.cores = 0, .memory = 8}, 3)},
                                      capacity),
            "");
  EXPECT_EQ(testing::first_overcommit({span(0, 2, {.cores = 3}, 1), span(1, 2, {.cores = 2}, 2)}, capacity),
            "host 0 over-committed in cores at t=1 by tasks 1 2");
  EXPECT_EQ(testing::first_overcommit({span(0, 2, {.cores = 1, .memory = 5}, 7), span(1.9, 3, {.cores = 1, .memory = 4}, 8)},
                                      capacity),
            "host 0 over-committed in memory at t=1.9 by tasks 7 8");
  EXPECT_EQ(testing::first_overcommit({span(0, 2, {.cores = 1, .gpus = 1}, 1), span(1, 3, {.cores = 1, .gpus = 1}, 2)},
                                      capacity),
            "host 0 over-committed in gpus at t=1 by tasks 1 2");
  Resources licensed{.cores = 1};
  licensed.other["licence"] = 1;
  EXPECT_EQ(testing::first_overcommit({span(0, 1, licensed, 1)}, capacity), "host 0 over-committed in licence at t=0 by tasks 1");
}

// A 4-core host runs 2-core tasks two at a time, never three; each takes flops / speed.
TEST(Resources, TwoCoreTasksShareAFourCoreHost) {
  const Scenario s = load(R"(
seed: 2
cluster:
  hosts: [{name: h, count: 1, speed: 1e9, resources: {cores: 4}}]
  network: {latency: 1e-9, bandwidth: 1e12}
workload: {rate: 4, size: {dist: constant, value: 1e9}, tasks: 200, resources: {cores: 2}}
policy: round_robin
)");
  auto r = sim::simulate(s);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->summary.tasks_completed, 200u);
  EXPECT_EQ(most_at_once(*r), 2u);
  for (const TaskRecord& t : r->tasks) EXPECT_NEAR(t.end - t.start, 1.0, 1e-6) << "task " << t.id;
  expect_never_overcommitted(s, *r);
}

// Memory is a dimension like cores: 3 GiB tasks on a 4 GiB host run one at a time although
// four cores are free, and one-core tasks beside them are not held up by the cores.
TEST(Resources, MemoryLimitsAHostLikeCores) {
  const Scenario s = load(R"(
seed: 3
cluster:
  hosts: [{name: h, count: 1, speed: 1e9, slots: 4, resources: {memory: 4GiB}}]
  network: {latency: 1e-9, bandwidth: 1e12}
workload: {rate: 3, size: {dist: constant, value: 1e9}, tasks: 100, resources: {memory: 3GiB}}
policy: round_robin
)");
  auto r = sim::simulate(s);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->summary.tasks_completed, 100u);
  EXPECT_EQ(most_at_once(*r), 1u);
  expect_never_overcommitted(s, *r);
}

// Mixed random requests on hosts of different shapes, under every dimension at once and
// several seeds: never over-committed, every task done once, and the same records twice.
TEST(Resources, MixedRequestsNeverOvercommitAndRunsRepeat) {
  for (const char* seed : {"1", "2", "3"}) {
    SCOPED_TRACE(std::string("seed ") + seed);
    const Scenario s = load(std::string("seed: ") + seed + R"(
cluster:
  hosts:
    - {name: big, count: 2, speed: 2e9, resources: {cores: 8, memory: 16GiB, licence: 2}}
    - {name: small, count: 3, speed: 1e9, resources: {cores: 3, memory: 6GiB, licence: 1}}
  network: {latency: 1e-9, bandwidth: 1e12}
workload:
  rate: 6
  size: {dist: exponential, mean: 2e9}
  tasks: 1500
  classes:
    - {share: 0.5, resources: {cores: 1, memory: {dist: uniform, low: 256MiB, high: 2GiB}}}
    - {share: 0.3, resources: {cores: 3, memory: {dist: uniform, low: 1GiB, high: 5GiB}}}
    - {share: 0.2, resources: {cores: 2, memory: 1GiB, licence: 1}}
policy: jsq
)");
    auto r = sim::simulate(s);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->summary.tasks_completed, 1500u);
    expect_nothing_lost(*r);
    expect_never_overcommitted(s, *r);
    expect_same_run_again(s, *r);
  }
}

// Timeouts cancel attempts that compute and attempts that wait in a host's queue; crashes
// take the queue with them. Still never over-committed, nothing lost.
TEST(Resources, CancelsAndCrashesKeepTheHostsWithinCapacity) {
  const Scenario s = load(R"(
seed: 4
cluster:
  hosts: [{name: h, count: 4, speed: 1e9, resources: {cores: 4, memory: 8GiB}}]
  network: {latency: 1e-9, bandwidth: 1e12}
workload:
  rate: 3
  size: {dist: exponential, mean: 2e9}
  tasks: 800
  classes:
    - {share: 0.6, resources: {cores: 1, memory: 1GiB}}
    - {share: 0.4, resources: {cores: 3, memory: 4GiB}}
policy: round_robin
recovery: {task_timeout: 6, max_attempts: 5, retry_backoff: 0.5}
faults:
  - {kind: crash, host: h-1, at: 40, recover_after: 15}
  - {kind: crash, host: h-2, at: 90, recover_after: 5}
  - {kind: pause, host: h-3, at: 60, duration: 10}
)");
  auto r = sim::simulate(s);
  ASSERT_TRUE(r.ok()) << r.error();
  expect_nothing_lost(*r);
  EXPECT_GT(r->summary.tasks_retried, 0u);
  expect_never_overcommitted(s, *r);
  expect_same_run_again(s, *r);
}

// Tasks asking for half a core: more run at once than the host has cores (extra executors
// take them; they share the host's two cores, so each takes longer than flops / speed),
// here three, which the host's 3 GiB allow, although the cores would allow four.
TEST(Resources, HalfCoreTasksOutnumberTheCoresUpToTheMemory) {
  const Scenario s = load(R"(
seed: 7
cluster:
  hosts: [{name: h, count: 1, speed: 1e9, slots: 2, resources: {memory: 3GiB}}]
  network: {latency: 1e-9, bandwidth: 1e12}
workload: {rate: 20, size: {dist: constant, value: 1e9}, tasks: 100, resources: {cores: 0.5, memory: 1GiB}}
policy: round_robin
)");
  auto r = sim::simulate(s);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->summary.tasks_completed, 100u);
  EXPECT_EQ(most_at_once(*r), 3u);
  expect_never_overcommitted(s, *r);
}

// A task asking for a GPU runs only on GPU hosts (the core's feasibility places it; each
// host's queue would refuse it, and the run would end with an error).
TEST(Resources, GpuTasksRunOnlyOnGpuHosts) {
  const Scenario s = load(R"(
seed: 5
cluster:
  hosts:
    - {name: gpu, count: 2, speed: 1e9, resources: {cores: 4, gpus: 1}}
    - {name: cpu, count: 4, speed: 1e9, resources: {cores: 4}}
  network: {latency: 1e-9, bandwidth: 1e12}
workload:
  rate: 4
  size: {dist: exponential, mean: 1e9}
  tasks: 600
  classes:
    - {share: 0.8, resources: {cores: 1}}
    - {share: 0.2, resources: {cores: 1, gpus: 1}}
policy: jsq
)");
  auto r = sim::simulate(s);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->summary.tasks_completed, 600u);
  const std::vector<Resources> requests = synthetic_requests(s);
  std::size_t gpu_tasks = 0;
  for (const TaskRecord& t : r->tasks) {
    if (requests[t.id].gpus == 0) continue;
    ++gpu_tasks;
    EXPECT_EQ(r->workers[t.worker].name.rfind("gpu-", 0), 0u) << "task " << t.id << " ran on " << r->workers[t.worker].name;
  }
  EXPECT_GT(gpu_tasks, 50u);
  expect_never_overcommitted(s, *r);
}

// A DAG edge's bytes between hosts of two zones cross both zones' links: the child starts
// later than on two hosts of one zone by the zones' latency (SimGrid's default LV08 model
// multiplies a route's latency by 13.01; the 1-byte transfer and the 1 KiB dispatch take
// microseconds at most).
TEST(Zones, ATransferBetweenZonesTakesTheInterZoneLatency) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "fulcrum_zones_test";
  std::filesystem::create_directories(dir);
  const std::string dag = (dir / "pair.json").string();
  std::ofstream(dag) << R"({"name": "pair", "tasks": [{"id": "p", "flops": 1e9}, {"id": "c", "flops": 1e9}],
                            "edges": [{"from": "p", "to": "c", "bytes": 1}]})";
  auto run = [&](const std::string& second_zone) {
    const Scenario s = load(R"(
cluster:
  zones: {a: {latency: 0.05, bandwidth: 1e12}, b: {latency: 0.02, bandwidth: 1e12}}
  hosts:
    - {name: pa, count: 1, speed: 1e9, zone: a}
    - {name: pb, count: 1, speed: 1e9, zone: )" + second_zone + R"(}
  network: {latency: 1e-6, bandwidth: 1e12}
workload: {type: dag, file: )" + dag + R"(}
policy: round_robin
)");
    auto r = sim::simulate(s);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? *r : RunRecords{};
  };
  const double lv08 = 13.01, host = 1e-6, a = 0.05, b = 0.02;
  for (const std::string zone : {"a", "b"}) {
    SCOPED_TRACE("second host in zone " + zone);
    const RunRecords r = run(zone);
    ASSERT_EQ(r.tasks.size(), 2u);
    ASSERT_EQ(r.workers[r.tasks[0].worker].name, "pa");
    ASSERT_EQ(r.workers[r.tasks[1].worker].name, "pb");
    const double zb = zone == "a" ? a : b;
    // The dispatch: scheduler's link, pb's zone link, pb's link. The data: pa's link, and
    // both zone links when the zones differ (one zone: pa's and pb's links only).
    const double dispatch = lv08 * (host + zb + host);
    const double data = lv08 * (zone == "a" ? 2 * host : host + a + b + host);
    EXPECT_NEAR(r.tasks[1].start - r.tasks[1].dispatched, dispatch + data, 1e-3);
  }
}

// {kind: zone_outage, mode: crash}: every host of the zone goes down and comes back after
// the duration; the other zone carries on and nothing is lost. With mode partition the
// hosts keep running but are cut off; nothing is lost either.
TEST(Zones, AZoneOutageLosesNothing) {
  for (const std::string mode : {"crash", "partition"}) {
    SCOPED_TRACE("mode " + mode);
    const Scenario s = load(R"(
seed: 6
cluster:
  zones: {eu: {latency: 0.001, bandwidth: 1.25e9}, us: {latency: 0.001, bandwidth: 1.25e9}}
  hosts:
    - {name: e, count: 3, speed: 1e9, resources: {cores: 4, memory: 8GiB}, zone: eu}
    - {name: u, count: 3, speed: 1e9, resources: {cores: 4, memory: 8GiB}, zone: us}
  network: {latency: 1e-9, bandwidth: 1e12}
workload:
  rate: 8
  size: {dist: exponential, mean: 1e9}
  tasks: 1500
  classes:
    - {share: 0.7, resources: {cores: 1, memory: 1GiB}}
    - {share: 0.3, resources: {cores: 2, memory: 3GiB}}
policy: jsq
faults:
  - {kind: zone_outage, zone: eu, at: 40, duration: 30, mode: )" + mode + R"(}
)");
    auto r = sim::simulate(s);
    ASSERT_TRUE(r.ok()) << r.error();
    expect_nothing_lost(*r);
    EXPECT_EQ(r->summary.tasks_completed, 1500u);
    std::map<std::string, int> down, up;
    for (const EventRecord& e : r->events) {
      if (e.detail.find("zone_outage of zone eu") == std::string::npos) continue;
      if (e.kind == "crash" || e.kind == "link_cut") ++down[e.host];
      if (e.kind == "recover" || e.kind == "link_restored") ++up[e.host];
      EXPECT_TRUE(e.time == 40 || e.time == 70) << e.kind << " " << e.host << " at " << e.time;
    }
    EXPECT_EQ(down, (std::map<std::string, int>{{"e-0", 1}, {"e-1", 1}, {"e-2", 1}}));
    EXPECT_EQ(up, down);
    // While the zone was down, nothing started there (crash) or was dispatched there.
    for (const TaskRecord& t : r->tasks) {
      if (r->workers[t.worker].name[0] != 'e' || mode != "crash") continue;
      EXPECT_FALSE(t.start > 40 && t.start < 70) << "task " << t.id << " started at " << t.start;
    }
    // Zone us took more than its share.
    std::uint64_t us = 0;
    for (const WorkerRecord& w : r->workers) us += w.name[0] == 'u' ? w.tasks : 0;
    EXPECT_GT(us, 750u);
  }
}

}  // namespace
}  // namespace fulcrum

namespace fulcrum {
namespace {

// A file workload's constraints reach the core as the simulator submits the trace's jobs
// (trace_job_spec, as run --mode real does): every task of an SWF window that requires
// `disk: ssd` runs on the SSD group.
TEST(Resources, ATraceRequireAndItsRequestsAreHonoured) {
  const std::string swf = std::string(FULCRUM_SOURCE_DIR) + "/../shared/workloads/swf/HPC2N-2002-2.2-cln.first3170jobs.swf";
  const Scenario s = load(R"(
cluster:
  hosts:
    - {name: ssd, count: 8, speed: 1e9, slots: 4, labels: {disk: ssd}}
    - {name: hdd, count: 8, speed: 1e9, slots: 4, labels: {disk: hdd}}
  network: {latency: 1e-9, bandwidth: 1e12}
workload: {type: swf, file: )" + swf + R"(, max_jobs: 120, time_scale: 0.05, max_procs: 8, require: {disk: ssd}}
policy: jsq
)");
  auto r = sim::simulate(s);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->summary.tasks_failed, 0u);
  ASSERT_GT(r->tasks.size(), 120u);
  for (const TaskRecord& t : r->tasks) {
    ASSERT_NE(t.worker, kNoWorker) << "task " << t.id;
    EXPECT_EQ(r->workers[t.worker].name.rfind("ssd-", 0), 0u) << "task " << t.id << " ran on " << r->workers[t.worker].name;
  }
}

}  // namespace
}  // namespace fulcrum

namespace fulcrum {
namespace {

// Hosts running more tasks than they have cores (the Alibaba v2017 trace asks for 0.4-0.75
// cores a task): SimGrid's lazy CPU updates once lost executions here, and the run ended
// at t=2150 with 5,366 tasks never finished and no error. The driver now runs such
// scenarios with full updates, and a run that stops before its tasks are done is an error.
TEST(Resources, SubCoreTasksOnATraceRunToTheEnd) {
  const std::string trace =
      std::string(FULCRUM_SOURCE_DIR) + "/../shared/workloads/traces/alibaba-v2017-batch_task.derived.csv.gz";
  const Scenario s = load(R"(
seed: 1
cluster:
  queue_cap: 0
  hosts:
    - {name: a, count: 12, speed: 1e9, resources: {cores: 64, memory: 64GiB}}
    - {name: b, count: 12, speed: 1e9, resources: {cores: 64, memory: 64GiB}}
workload: {type: alibaba, file: )" + trace + R"(, first_job: 0, max_jobs: 200, max_instances: 50,
           machine_memory: 64GiB}
policy: tetris
queue: skip_ahead
)");
  auto r = sim::simulate(s);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_GT(r->summary.tasks_submitted, 19000u);
  expect_nothing_lost(*r);
  // More tasks than cores did run at once somewhere: the case this guards.
  EXPECT_GT(most_at_once(*r), 64u);
}

}  // namespace
}  // namespace fulcrum
