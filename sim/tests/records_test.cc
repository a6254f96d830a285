// What the simulator's records say about resources (results/metrics.h, docs/results.md):
// each task's request and each host's capacity are in the records as the scenario gave
// them, a task that fits no host is counted in tasks_unschedulable, and the per-dimension
// utilisations and fragmentation follow from the records alone.
#include <gtest/gtest.h>

#include "scenario/load.h"
#include "sim/isolated.h"

namespace fulcrum {
namespace {

constexpr double kGiB = 1024.0 * 1024 * 1024;

Scenario load(const std::string& yaml) {
  auto s = load_scenario_text(yaml, std::string(FULCRUM_SOURCE_DIR) + "/examples/records.yaml");
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
  return s.ok() ? *s : Scenario{};
}

// One class in ten asks for 2 GPUs and another in ten for a label no host has: those tasks
// are refused at submission, counted in tasks_unschedulable (and tasks_failed), never lost.
TEST(SimRecords, UnschedulableTasksAreCounted) {
  const Scenario s = load(R"(
seed: 7
cluster:
  hosts:
    - {name: gpu, count: 1, speed: 1e9, resources: {cores: 4, memory: 16GiB, gpus: 1}}
    - {name: cpu, count: 2, speed: 1e9, slots: 2}
workload:
  rate: 4
  tasks: 400
  size: {dist: constant, value: 1e8}
  classes:
    - {share: 0.8, resources: {cores: 1, memory: 1GiB}}
    - {share: 0.1, resources: {cores: 1, gpus: 2}}
    - {share: 0.1, resources: {cores: 1}, require: {disk: nvme}}
policy: jsq
queue: skip_ahead
)");
  auto r = sim::simulate(s);
  ASSERT_TRUE(r.ok()) << r.error();
  std::uint64_t refused = 0, events = 0;
  for (const TaskRecord& t : r->tasks) {
    if (t.state == TaskState::kFailed && t.attempts == 0) ++refused;
  }
  for (const EventRecord& e : r->events) events += e.kind == "task_unschedulable" ? 1 : 0;
  EXPECT_GT(refused, 40u);  // about one in five of 400
  EXPECT_LT(refused, 120u);
  EXPECT_EQ(r->summary.tasks_unschedulable, refused);
  EXPECT_EQ(events, refused);
  EXPECT_EQ(r->summary.tasks_failed, refused);
  EXPECT_EQ(r->summary.tasks_completed + refused, 400u);
  EXPECT_EQ(r->summary.tasks_lost, 0u);
  // Every GPU request above the largest host's was refused; every other task ran.
  for (const TaskRecord& t : r->tasks) {
    if (t.gpus > 1) {
      EXPECT_EQ(t.state, TaskState::kFailed) << "task " << t.id;
    }
  }
}

// The records carry the requests and the capacities; the utilisations are in [0, 1]; hosts
// without GPUs or memory limits have none; one-core tasks on whole cores never strand one.
TEST(SimRecords, RequestsCapacitiesAndUtilisations) {
  const Scenario s = load(R"(
seed: 3
cluster:
  hosts:
    - {name: big, count: 2, speed: 1e9, resources: {cores: 8, memory: 32GiB, gpus: 2}}
    - {name: plain, count: 2, speed: 1e9, slots: 4}
  network: {latency: 1e-9, bandwidth: 1e12}
workload:
  rate: 8
  tasks: 500
  size: {dist: exponential, mean: 1e9}
  classes:
    - {share: 0.7, resources: {cores: 1, memory: 2GiB}}
    - {share: 0.3, resources: {cores: 3, memory: 12GiB, gpus: 1}}
policy: jsq
queue: skip_ahead
)");
  auto r = sim::simulate(s);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->workers.size(), 4u);
  EXPECT_EQ(r->workers[0].slots, 8);
  EXPECT_EQ(r->workers[0].memory, 32 * kGiB);
  EXPECT_EQ(r->workers[0].gpus, 2);
  EXPECT_EQ(r->workers[2].slots, 4);
  EXPECT_EQ(r->workers[2].memory, 0);  // not limited
  EXPECT_EQ(r->workers[2].gpus, 0);
  std::size_t wide = 0;
  for (const TaskRecord& t : r->tasks) {
    const bool is_wide = t.cores == 3;
    wide += is_wide ? 1 : 0;
    EXPECT_EQ(t.memory, (is_wide ? 12 : 2) * kGiB) << "task " << t.id;
    EXPECT_EQ(t.gpus, is_wide ? 1 : 0) << "task " << t.id;
    if (is_wide && t.state == TaskState::kFinished) {
      EXPECT_LT(t.worker, 2u) << "a GPU task ran on a plain host";
    }
  }
  EXPECT_GT(wide, 100u);
  const Summary& m = r->summary;
  EXPECT_EQ(m.tasks_unschedulable, 0u);
  for (double u : {m.utilisation_cores, m.utilisation_memory, m.utilisation_gpus, m.fragmentation}) {
    EXPECT_GE(u, 0);
    EXPECT_LE(u, 1);
  }
  EXPECT_GT(m.utilisation_gpus, 0);
  for (const WorkerRecord& w : r->workers) {
    if (w.group == "plain") {
      EXPECT_EQ(w.utilisation_memory, 0);
      EXPECT_EQ(w.utilisation_gpus, 0);
      EXPECT_GT(w.utilisation_cores, 0);
    }
  }
  // Pooled memory is over the big hosts only: the held memory-seconds there / their memory
  // (on a 1 ns network the records' ends are the hosts' ends within nanoseconds).
  double held = 0;
  for (const TaskRecord& t : r->tasks) {
    if (t.state == TaskState::kFinished && t.worker < 2) held += t.memory * (t.end - t.start);
  }
  EXPECT_NEAR(m.utilisation_memory, held / (2 * 32 * kGiB * m.makespan), 1e-6);
}

// examples/resources.yaml's zones are 10 and 40 ms apart: a completion's report takes a
// good part of a second, which the records' `end` includes, so a saturated GPU host shows
// its next task beside the last. The utilisations cap what the records show at the
// capacity: never above 1, on any host, in any dimension.
TEST(SimRecords, UtilisationNeverPassesOneOnASlowNetwork) {
  auto s = load_scenario_file(std::string(FULCRUM_SOURCE_DIR) + "/examples/resources.yaml",
                              {"workload.tasks=3000", "workload.rate=40", "faults=[]"});
  ASSERT_TRUE(s.ok()) << s.error();
  auto r = sim::simulate(*s);
  ASSERT_TRUE(r.ok()) << r.error();
  double spans = 0;  // GPU-seconds the records show, uncapped
  for (const TaskRecord& t : r->tasks) spans += t.state == TaskState::kFinished ? t.gpus * (t.end - t.start) : 0;
  double gpus = 0;
  for (const WorkerRecord& w : r->workers) {
    gpus += w.gpus;
    for (double u : {w.utilisation_cores, w.utilisation_memory, w.utilisation_gpus}) {
      EXPECT_GE(u, 0) << w.name;
      EXPECT_LE(u, 1) << w.name;
    }
  }
  EXPECT_GT(spans / (gpus * r->summary.makespan), 1) << "the case no longer overlaps: pick a busier one";
  EXPECT_GT(r->summary.utilisation_gpus, 0.8);  // busy all the same
  EXPECT_LE(r->summary.utilisation_gpus, 1);
}

// The default one-slot world: utilisation_cores is the slot utilisation (on a 1 ns network,
// where the records' ends are the hosts'), and a free core always fits a waiting one-core
// task, so nothing is ever stranded.
TEST(SimRecords, OneSlotTasksHaveNoFragmentation) {
  const Scenario s = load(R"(
seed: 1
cluster:
  hosts: [{name: w, count: 4, speed: 1e9, slots: 2}]
  network: {latency: 1e-9, bandwidth: 1e12}
workload: {rate: 7, tasks: 1000, size: {dist: exponential, mean: 1e9}}
policy: power_of_d:d=2
)");
  auto r = sim::simulate(s);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_NEAR(r->summary.utilisation_cores, r->summary.utilisation_mean, 1e-6);
  EXPECT_EQ(r->summary.fragmentation, 0);
  EXPECT_EQ(r->summary.utilisation_memory, 0);
  EXPECT_EQ(r->summary.utilisation_gpus, 0);
}

}  // namespace
}  // namespace fulcrum
