// `run --mode real` with resources, labels and zones (issue 16): a scenario's host groups
// reach the workers it starts (their flags), its task classes reach the scheduler as the
// same JobSpecs as in simulation, and the capacity invariant holds on real processes — no
// worker over-committed in any dimension at any instant, every `require` held, nothing
// lost or run twice — checked from the run's records with sim/tests/occupancy.h.
//
// run_local starts its own scheduler and workers on kernel-picked ports of 127.0.0.1, in
// a mkdtemp folder of its own, and stops every one before it returns. No assertion is on
// time: only on what ran where and what overlapped.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "model/arrivals.h"
#include "real/local_run.h"
#include "scenario/load.h"
#include "sim/isolated.h"
#include "sim/tests/occupancy.h"

namespace fulcrum {
namespace {

// Three workers of different cores, memory and GPUs, two disks and two zones; a workload
// of random core and memory requests, a label constraint and a GPU class spread over
// zones, far more than the cluster holds at once (so local queues fill and every worker
// has to keep to its capacity); and zone us crashing for a while.
constexpr const char* kScenario = R"(
seed: 7
cluster:
  network: {latency: 1e-9}
  hosts:
    - {name: big, count: 1, slots: 4, resources: {memory: 4GiB, gpus: 1, licence: 2}, labels: {disk: ssd}, zone: eu}
    - {name: mid, count: 1, slots: 2, resources: {memory: 2GiB}, labels: {disk: ssd}, zone: us}
    - {name: hdd, count: 1, slots: 3, resources: {memory: 3GiB}, labels: {disk: hdd}, zone: us}
workload:
  rate: 60
  tasks: 160
  size: {dist: exponential, mean: 4e8}
  classes:
    - share: 0.5
      resources: {cores: {dist: uniform, low: 1, high: 3}, memory: {dist: uniform, low: 128MiB, high: 2GiB}}
      require: {disk: ssd}
    - share: 0.3
      resources: {cores: 1, memory: {dist: uniform, low: 256MiB, high: 3GiB}}
    - share: 0.2
      resources: {cores: 1, memory: 512MiB, gpus: 1, licence: 1}
      spread: zone
policy: jsq
queue: skip_ahead
recovery: {heartbeat_interval: 0.5, suspect_after: 1.5, dead_after: 3, max_attempts: 20}
faults:
  - {kind: zone_outage, zone: us, at: 1, duration: 1}
real: {task: sleep, time_scale: 0.1}
)";

// The tasks the scenario submits, in submission order (task id = arrival index): what the
// simulator draws (sim/leader.cc), for checking the records against.
std::vector<TaskSpec> drawn_tasks(const Scenario& s) {
  std::vector<TaskSpec> out;
  ArrivalStream arrivals(s.workload, s.seed);
  TaskClassStream classes(s.classes, s.seed);
  for (Arrival a; arrivals.next(a);) out.push_back(classes.next(a));
  return out;
}

// Every record a task, once; all finished (nothing lost); each on a worker that carries
// its `require`, with the request it was drawn with; and no worker over-committed.
// `report_delay`: what occupancies() takes off each end (see sim/tests/occupancy.h).
void check_invariant(const Scenario& s, const RunRecords& r, const char* world, double report_delay) {
  SCOPED_TRACE(world);
  const std::vector<TaskSpec> drawn = drawn_tasks(s);
  const std::vector<WorkerSpec> hosts = worker_specs(s.cluster);
  ASSERT_EQ(r.tasks.size(), drawn.size());
  ASSERT_EQ(r.workers.size(), hosts.size());
  EXPECT_EQ(r.summary.tasks_completed, drawn.size());
  EXPECT_EQ(r.summary.tasks_lost, 0u);
  EXPECT_EQ(r.summary.tasks_failed, 0u);
  std::set<TaskId> seen;
  for (const TaskRecord& t : r.tasks) {
    ASSERT_LT(t.id, drawn.size());
    EXPECT_TRUE(seen.insert(t.id).second) << "task " << t.id << " recorded twice";
    ASSERT_EQ(t.state, TaskState::kFinished) << "task " << t.id;
    ASSERT_LT(t.worker, hosts.size()) << "task " << t.id;
    const TaskSpec& spec = drawn[t.id];
    const WorkerSpec& host = hosts[t.worker];
    EXPECT_EQ(r.workers[t.worker].name, host.name);
    EXPECT_TRUE(carries(host, spec.require)) << "task " << t.id << " ran on " << host.name;
    EXPECT_TRUE(first_misfit(spec.request, host.capacity()).empty()) << "task " << t.id << " on " << host.name;
    // The scheduler's core had the drawn request (records carry it).
    EXPECT_EQ(t.cores, spec.request.cores) << "task " << t.id;
    EXPECT_EQ(t.memory, spec.request.memory) << "task " << t.id;
    EXPECT_EQ(t.gpus, spec.request.gpus) << "task " << t.id;
  }
  std::vector<Resources> capacity;
  for (const WorkerSpec& h : hosts) capacity.push_back(h.capacity());
  // Requests by id (named resources are in no record: from the draw).
  const auto spans = testing::occupancies(r, [&](const TaskRecord& t) { return drawn[t.id].request; }, report_delay);
  EXPECT_EQ(spans.size(), drawn.size());
  EXPECT_EQ(testing::first_overcommit(spans, capacity), "");
}

TEST(LocalResources, RealWorkersAreNeverOverCommittedAndHoldEveryRequire) {
  auto scenario = load_scenario_text(kScenario, "local_resources.yaml");
  ASSERT_TRUE(scenario.ok()) << scenario.error();
  auto real = real::run_local(*scenario, real::LocalRunOptions{FULCRUM_BINARY, false});
  ASSERT_TRUE(real.ok()) << real.error();
  // Real mode's start is when the TaskStarted arrived and its end when the TaskDone did,
  // both on the worker's one connection, in the order the worker sent them: a task that
  // ends before the next starts is recorded so, with no report delay to take off.
  check_invariant(*scenario, *real, "real mode", 0);
  // The workers offered the scenario's hosts: the records carry their capacities.
  for (std::size_t i = 0; i < real->workers.size(); ++i) {
    const WorkerSpec h = worker_specs(scenario->cluster)[i];
    EXPECT_EQ(real->workers[i].slots, h.slots) << h.name;
    EXPECT_EQ(real->workers[i].memory, h.resources.memory) << h.name;
    EXPECT_EQ(real->workers[i].gpus, h.resources.gpus) << h.name;
  }
  // The zone outage crashed both hosts of us, as in simulation, and they came back.
  std::multiset<std::string> crashed, recovered;
  for (const EventRecord& e : real->events) {
    if (e.kind == "crash") {
      crashed.insert(e.host);
      EXPECT_EQ(e.detail.rfind("zone_outage of zone us (crash)", 0), 0u) << e.detail;
    }
    if (e.kind == "recover") recovered.insert(e.host);
  }
  EXPECT_EQ(crashed, (std::multiset<std::string>{"hdd", "mid"}));
  EXPECT_EQ(recovered, crashed);

  // The simulation of the same scenario: the same tasks (requests) under the same invariant.
  auto sim = sim::simulate(*scenario);
  ASSERT_TRUE(sim.ok()) << sim.error();
  // Its 1 ns links make a report's trip a few microseconds (its bytes at 1.25 GB/s: 2.7 us
  // seen here); 0.1 ms is far below any task's length.
  check_invariant(*scenario, *sim, "simulation", 1e-4);
}

// A task that fits no host is counted, not waited for, in both worlds.
TEST(LocalResources, AnUnschedulableTaskFailsAtSubmissionInBothWorlds) {
  auto scenario = load_scenario_text(R"(
seed: 3
cluster:
  hosts:
    - {name: a, count: 2, slots: 2, resources: {memory: 1GiB}}
workload:
  rate: 50
  tasks: 30
  size: {dist: constant, value: 1e8}
  classes:
    - {share: 0.8, resources: {cores: 1, memory: 256MiB}}
    - {share: 0.2, resources: {cores: 1, memory: 2GiB}}
real: {task: sleep, time_scale: 0.1}
)", "unschedulable.yaml");
  ASSERT_TRUE(scenario.ok()) << scenario.error();
  std::uint64_t too_big = 0;
  for (const TaskSpec& t : drawn_tasks(*scenario)) too_big += t.request.memory > (1 << 30) ? 1 : 0;
  ASSERT_GT(too_big, 0u);
  auto real = real::run_local(*scenario, real::LocalRunOptions{FULCRUM_BINARY, false});
  ASSERT_TRUE(real.ok()) << real.error();
  auto sim = sim::simulate(*scenario);
  ASSERT_TRUE(sim.ok()) << sim.error();
  for (const RunRecords* r : {&*real, &*sim}) {
    const char* world = r == &*real ? "real mode" : "simulation";
    EXPECT_EQ(r->summary.tasks_unschedulable, too_big) << world;
    EXPECT_EQ(r->summary.tasks_failed, too_big) << world;
    EXPECT_EQ(r->summary.tasks_completed, 30 - too_big) << world;
    EXPECT_EQ(r->summary.tasks_lost, 0u) << world;
    ASSERT_EQ(r->tasks.size(), 30u) << world;
  }
  for (std::size_t i = 0; i < 30; ++i) EXPECT_EQ(real->tasks[i].state, sim->tasks[i].state) << "task " << i;
}

// What local processes cannot reproduce is refused, saying what and why, before any
// process starts.
TEST(LocalResources, RefusesOnlyWhatLocalProcessesCannotReproduce) {
  auto zones = load_scenario_text(R"(
cluster:
  zones: {eu: {latency: 0.01}, us: {latency: 0.04}}
  hosts:
    - {name: a, count: 1, zone: eu}
    - {name: b, count: 1, zone: us}
workload: {rate: 1, tasks: 2}
)", "zones.yaml");
  ASSERT_TRUE(zones.ok()) << zones.error();
  auto refused = real::run_local(*zones, real::LocalRunOptions{FULCRUM_BINARY, false});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("zones.yaml: cluster.zones: the latency and bandwidth between zones cannot be emulated"),
            std::string::npos)
      << refused.error();

  auto partition = load_scenario_text(R"(
cluster:
  hosts:
    - {name: a, count: 1, zone: eu}
    - {name: b, count: 1, zone: us}
workload: {rate: 1, tasks: 2}
faults:
  - {kind: zone_outage, zone: eu, at: 1, duration: 1, mode: partition}
)", "partition.yaml");
  ASSERT_TRUE(partition.ok()) << partition.error();
  refused = real::run_local(*partition, real::LocalRunOptions{FULCRUM_BINARY, false});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("partition.yaml:8: faults: zone_outage with mode: partition is not available in real mode"),
            std::string::npos)
      << refused.error();
}

// DRF in real mode, the same core as in simulation (sim/tests/fairness_test.cc): 9 cores
// and 18 GiB, A's tasks <1 core, 4 GiB>, B's <3 cores, 1 GiB>, 100 scenario seconds each
// (1 s of wall time), arriving within the first 0.15 s: once tasks end and free room, the
// worker runs A 3 and B 2, the paper's allocation; tenants.csv has both.
TEST(LocalFairness, DrfReachesThePapersAllocationOnRealWorkers) {
  auto scenario = load_scenario_text(R"(
cluster: {hosts: [{count: 1, speed: 1e9, resources: {cores: 9, memory: 18GiB}}]}
tenants: {A: {}, B: {}}
discipline: drf
workload:
  rate: 400
  tasks: 60
  size: {dist: constant, value: 1e11}
  classes:
    - {share: 0.5, tenant: A, resources: {cores: 1, memory: 4GiB}}
    - {share: 0.5, tenant: B, resources: {cores: 3, memory: 1GiB}}
real: {task: sleep, time_scale: 0.01}
)", "local_fairness.yaml");
  ASSERT_TRUE(scenario.ok()) << scenario.error();
  auto r = real::run_local(*scenario, real::LocalRunOptions{FULCRUM_BINARY, false});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->summary.tasks_completed, 60u);
  for (const double t : {350.0, 650.0}) {
    std::map<std::string, int> running;
    for (const TaskRecord& task : r->tasks) {
      if (task.start >= 0 && task.start <= t && t < task.end) ++running[r->jobs.at(task.job).tenant];
    }
    EXPECT_EQ(running, (std::map<std::string, int>{{"A", 3}, {"B", 2}})) << "at t=" << t;
  }
  ASSERT_EQ(r->tenants.size(), 2u);
  EXPECT_EQ(r->tenants[0].tenant, "A");
  EXPECT_EQ(r->tenants[1].tenant, "B");
}

}  // namespace
}  // namespace fulcrum
