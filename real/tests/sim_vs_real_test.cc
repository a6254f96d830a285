// The same scenario in simulation and on real local processes gives comparable summaries.
//
// Both runs see the same arrivals and task sizes (same seed), and workers join in the
// scenario's order, so round robin makes the same choices: the runs differ only by what
// real processes add to every task — timer overshoot, loopback messages, and the journal's
// fdatasync before a completion counts. These are wall-clock costs of each task, so the
// scale sets how much they weigh: at time_scale 0.1 a task of mean 0.75 scenario seconds
// lasts 75 ms of wall time. On 2 cores kept busy by 2 CPU hogs the overheads come to ~2 ms
// a task: utilisation +0.016-0.029 and response mean +2-3 % (at 0.05: utilisation
// +0.03-0.04, too near the bound). Other tests beside it on the same cores (ctest -j4)
// stretched tasks by 10-30 % more, so ctest runs these tests alone (RUN_SERIAL,
// CMakeLists.txt).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "real/local_run.h"
#include "scenario/load.h"
#include "sim/isolated.h"

namespace fulcrum {
namespace {

TEST(SimVsReal, SameScenarioComparableSummaries) {
  auto scenario = load_scenario_text(R"(
seed: 4
cluster:
  hosts:
    - {name: fast, count: 2, speed: 2e9, slots: 1}
    - {name: slow, count: 2, speed: 1e9, slots: 1}
workload: {type: poisson, rate: 4, size: {dist: exponential, mean: 1e9}, tasks: 300}
policy: round_robin
real: {task: sleep, time_scale: 0.1}
)", "sim_vs_real.yaml");
  ASSERT_TRUE(scenario.ok()) << scenario.error();
  auto sim = sim::simulate(*scenario);
  ASSERT_TRUE(sim.ok()) << sim.error();
  auto real = real::run_local(*scenario, real::LocalRunOptions{FULCRUM_BINARY, false});
  ASSERT_TRUE(real.ok()) << real.error();
  const Summary& s = sim->summary;
  const Summary& r = real->summary;
  EXPECT_EQ(r.tasks_completed, 300u);
  EXPECT_EQ(r.tasks_lost, 0u);
  EXPECT_NEAR(r.response_mean, s.response_mean, 0.10 * s.response_mean);
  EXPECT_NEAR(r.response_p95, s.response_p95, 0.10 * s.response_p95);
  EXPECT_NEAR(r.makespan, s.makespan, 0.03 * s.makespan);
  EXPECT_NEAR(r.utilisation_mean, s.utilisation_mean, 0.05);
  // Round robin in join order: every host ran the same number of tasks in both worlds.
  ASSERT_EQ(real->workers.size(), sim->workers.size());
  for (std::size_t i = 0; i < sim->workers.size(); ++i) {
    EXPECT_EQ(real->workers[i].name, sim->workers[i].name);
    EXPECT_EQ(real->workers[i].tasks, sim->workers[i].tasks) << sim->workers[i].name;
  }
}

// A worker registers with the scenario's whole description of its host, so weights and
// groups mean the same in both worlds: weighted round robin over hosts of weight 3 and 1
// splits the tasks 3:1 in each (before wire version 6 real mode dropped weights: 1:1).
TEST(SimVsReal, WorkerWeightsAndGroupsAreTheScenarios) {
  auto scenario = load_scenario_text(R"(
seed: 2
cluster:
  hosts:
    - {name: heavy, count: 1, speed: 1e9, slots: 1, weight: 3}
    - {name: light, count: 1, speed: 1e9, slots: 1, weight: 1}
workload: {type: poisson, rate: 20, size: {dist: exponential, mean: 1e7}, tasks: 200}
policy: weighted_round_robin
real: {task: sleep, time_scale: 0.05}
)", "weights.yaml");
  ASSERT_TRUE(scenario.ok()) << scenario.error();
  auto sim = sim::simulate(*scenario);
  ASSERT_TRUE(sim.ok()) << sim.error();
  auto real = real::run_local(*scenario, real::LocalRunOptions{FULCRUM_BINARY, false});
  ASSERT_TRUE(real.ok()) << real.error();
  for (const RunRecords* r : {&*sim, &*real}) {
    const char* world = r == &*sim ? "simulation" : "real mode";
    ASSERT_EQ(r->workers.size(), 2u) << world;
    EXPECT_EQ(r->workers[0].name, "heavy") << world;
    EXPECT_EQ(r->workers[0].group, "heavy") << world;
    EXPECT_EQ(r->workers[1].group, "light") << world;
    EXPECT_EQ(r->workers[0].tasks, 150u) << world;
    EXPECT_EQ(r->workers[1].tasks, 50u) << world;
  }
}

}  // namespace
}  // namespace fulcrum

namespace fulcrum {
namespace {

// The fault kinds real mode supports, on local processes: a worker SIGKILLed (and a fresh
// one started), one SIGSTOPped past dead_after, the scheduler SIGKILLed and restarted on
// its journal. Nothing is lost, nothing is recorded twice, every fault is detected.
TEST(RealFaults, CrashPauseAndLeaderKillLoseNothing) {
  auto scenario = load_scenario_text(R"(
seed: 3
cluster:
  hosts:
    - {name: w, count: 4, speed: 1e9, slots: 1}
workload: {type: poisson, rate: 2.5, size: {dist: exponential, mean: 1e9}, tasks: 200}
policy: least_connections
recovery: {heartbeat_interval: 1, suspect_after: 2, dead_after: 4}
real: {time_scale: 0.05}
faults:
  - {kind: crash, host: w-0, at: 15, recover_after: 20}
  - {kind: pause, host: w-1, at: 30, duration: 10}
  - {kind: leader_kill, at: 50}
)", "real_faults.yaml");
  ASSERT_TRUE(scenario.ok()) << scenario.error();
  auto r = real::run_local(*scenario, real::LocalRunOptions{FULCRUM_BINARY, false});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->summary.tasks_completed, 200u);
  EXPECT_EQ(r->summary.tasks_lost, 0u);
  std::set<TaskId> seen;
  for (const TaskRecord& t : r->tasks) {
    EXPECT_TRUE(seen.insert(t.id).second) << "task " << t.id << " recorded twice";
    EXPECT_EQ(t.state, TaskState::kFinished);
  }
  auto count = [&](const std::string& kind, const std::string& host) {
    return std::count_if(r->events.begin(), r->events.end(),
                         [&](const EventRecord& e) { return e.kind == kind && e.host == host; });
  };
  EXPECT_EQ(count("crash", "w-0"), 1);
  EXPECT_GE(count("worker_dead", "w-0"), 1);   // its connection closed
  EXPECT_EQ(count("pause_start", "w-1"), 1);
  EXPECT_GE(count("worker_suspected", "w-1"), 1);
  EXPECT_GE(count("worker_dead", "w-1"), 1);   // silent past dead_after
  EXPECT_EQ(count("leader_kill", ""), 1);
  EXPECT_EQ(count("leader_elected", ""), 1);
  EXPECT_EQ(r->summary.faults_injected, 3u);
  // A crash is seen at once (the connection drops); a pause after dead_after (4 s) give
  // or take a heartbeat: the mean lies between.
  EXPECT_GT(r->summary.detection_latency_mean, 0.0);
  EXPECT_LT(r->summary.detection_latency_mean, 4.0 + 1.0);
}

}  // namespace
}  // namespace fulcrum
