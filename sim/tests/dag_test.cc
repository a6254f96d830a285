// DAG workloads end to end in simulation: HEFT reproduces the published example, every
// shared WfCommons workflow and SWF trace runs to completion with its dependencies
// respected, and malformed workload files are refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "scenario/load.h"
#include "sim/isolated.h"
#include "workload/jobs.h"

namespace fulcrum {
namespace {

const std::string kShared = std::string(FULCRUM_SOURCE_DIR) + "/../shared/workloads/";

Scenario scenario(const std::string& yaml, const std::string& name = "dag.yaml") {
  auto s = load_scenario_text(yaml, std::string(FULCRUM_SOURCE_DIR) + "/examples/" + name);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
  return s.ok() ? *s : Scenario{};
}

TEST(Dag, HeftReproducesTheTopcuogluExample) {
  auto s = load_scenario_file(std::string(FULCRUM_SOURCE_DIR) + "/examples/heft_topcuoglu.yaml");
  ASSERT_TRUE(s.ok()) << s.error();
  auto r = sim::simulate(*s);
  ASSERT_TRUE(r.ok()) << r.error();
  // Topcuoglu, Hariri and Wu, TPDS 2002, Fig. 4(a): makespan 80, and this placement
  // (tasks n1..n10 keep their file order as ids 0..9). Control messages cross 1 ns links.
  EXPECT_NEAR(r->summary.makespan, 80.0, 1e-5);
  const std::vector<std::string> host{"p3", "p1", "p3", "p2", "p3", "p2", "p3", "p1", "p2", "p2"};
  const std::vector<double> start{0, 27, 9, 18, 28, 26, 38, 57, 56, 73};
  ASSERT_EQ(r->tasks.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(r->workers[r->tasks[i].worker].name, host[i]) << "n" << i + 1;
    EXPECT_NEAR(r->tasks[i].start, start[i], 1e-5) << "n" << i + 1;
  }
  ASSERT_EQ(r->jobs.size(), 1u);
  EXPECT_NEAR(r->jobs[0].end - r->jobs[0].submit, 80.0, 1e-5);
}

// A leader killed mid-run: the standby replays the journal, in which the job's HEFT plan
// (priorities and planned processors) was recorded, so every task still runs where HEFT
// placed it — before JobPlanned, a replayed job was planned again with no workers known
// and its tasks went to whichever worker was least loaded.
TEST(Dag, ALeaderKillKeepsTheHeftPlanAndPriorities) {
  for (const char* kill : {"20", "30", "45", "60"}) {
    auto s = load_scenario_text(R"(
seed: 1
cluster:
  hosts:
    - {name: p1, count: 1, speed: 1e9, slots: 1}
    - {name: p2, count: 1, speed: 1e9, slots: 1}
    - {name: p3, count: 1, speed: 1e9, slots: 1}
  network: {latency: 1e-9, bandwidth: 1e12}
  queue_cap: -1
workload: {type: dag, file: dags/topcuoglu2002.json}
policy: heft
recovery: {heartbeat_interval: 1, suspect_after: 3, dead_after: 6, election_delay: 2, reconcile_grace: 2}
faults:
  - {kind: leader_kill, at: )" + std::string(kill) + "}\n",
                                std::string(FULCRUM_SOURCE_DIR) + "/examples/heft_leader_kill.yaml");
    ASSERT_TRUE(s.ok()) << s.error();
    auto r = sim::simulate(*s);
    ASSERT_TRUE(r.ok()) << r.error();
    SCOPED_TRACE(std::string("leader killed at ") + kill);
    ASSERT_EQ(r->tasks.size(), 10u);
    EXPECT_EQ(r->summary.tasks_completed, 10u);
    bool elected = false;
    for (const EventRecord& e : r->events) elected |= e.kind == "leader_elected" && e.time > 0;
    EXPECT_TRUE(elected);
    const std::vector<std::string> host{"p3", "p1", "p3", "p2", "p3", "p2", "p3", "p1", "p2", "p2"};
    for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(r->workers[r->tasks[i].worker].name, host[i]) << "n" << i + 1;
  }
}

// Every task starts after its parents ended; the job takes at least its critical path.
void expect_dependencies_respected(const RunRecords& r, const std::vector<DagJob>& jobs) {
  ASSERT_EQ(r.jobs.size(), jobs.size());
  TaskId first = 0;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    for (const DagEdge& e : jobs[j].edges) {
      const TaskRecord& parent = r.tasks[first + e.from];
      const TaskRecord& child = r.tasks[first + e.to];
      ASSERT_GE(child.start, parent.end) << jobs[j].name << ": task " << e.to << " started before its parent "
                                         << e.from << " ended";
    }
    ASSERT_GE(r.jobs[j].end - r.jobs[j].submit, r.jobs[j].critical_path * (1 - 1e-12)) << jobs[j].name;
    first += jobs[j].tasks.size();
  }
  EXPECT_EQ(r.summary.tasks_lost, 0u);
  EXPECT_EQ(r.summary.tasks_completed, r.tasks.size());
}

class WfCommons : public ::testing::TestWithParam<std::string> {};

TEST_P(WfCommons, RunsToCompletionRespectingDependencies) {
  for (const char* policy : {"heft", "jsq"}) {
    SCOPED_TRACE(policy);
    const Scenario s = scenario(R"(
cluster:
  hosts:
    - {name: fast, count: 4, speed: 2e9, slots: 2}
    - {name: slow, count: 4, speed: 1e9, slots: 1}
  queue_cap: 0
workload: {type: wfcommons, file: )" + kShared + "wfcommons/" + GetParam() + R"(}
policy: )" + policy + "\npriority: critical_path\n");
    auto jobs = load_jobs(s.trace);
    ASSERT_TRUE(jobs.ok()) << jobs.error();
    auto r = sim::simulate(s);
    ASSERT_TRUE(r.ok()) << r.error();
    expect_dependencies_respected(*r, *jobs);
  }
}

INSTANTIATE_TEST_SUITE_P(Shared, WfCommons,
                         ::testing::Values("epigenomics-chameleon-hep-1seq-100k-001.json",
                                           "montage-chameleon-2mass-005d-001.json",
                                           "blast-chameleon-medium-001.json",
                                           "seismology-chameleon-1000p-001.json",
                                           "bwa-chameleon-large-001.json",
                                           "montage-chameleon-2mass-04d-001.json",
                                           "1000genome-chameleon-2ch-100k-001.schema-1.4.json"));

class Swf : public ::testing::TestWithParam<std::string> {};

TEST_P(Swf, AWindowRunsToCompletion) {
  const Scenario s = scenario(R"(
cluster:
  hosts: [{count: 32, speed: 1e9, slots: 4}]
workload: {type: swf, file: )" + kShared + "swf/" + GetParam() + R"(, max_jobs: 150, time_scale: 0.05, max_procs: 16}
policy: least_connections
)");
  auto jobs = load_jobs(s.trace);
  ASSERT_TRUE(jobs.ok()) << jobs.error();
  auto r = sim::simulate(s);
  ASSERT_TRUE(r.ok()) << r.error();
  expect_dependencies_respected(*r, *jobs);
  for (std::size_t j = 0; j < r->jobs.size(); ++j) EXPECT_NEAR(r->jobs[j].submit, (*jobs)[j].submit, 1e-9);
}

INSTANTIATE_TEST_SUITE_P(Shared, Swf,
                         ::testing::Values("KTH-SP2-1996-2.1-cln.swf", "HPC2N-2002-2.2-cln.first3170jobs.swf",
                                           "lublin_256.synthetic.swf", "LCG-2005-1.swf.gz"));

TEST(Dag, PrioritiesAndTheirBaselinesRun) {
  for (const char* priority : {"fifo", "critical_path", "random"}) {
    const Scenario s = scenario(std::string(R"(
cluster:
  hosts: [{count: 4, speed: 1e9, slots: 1}]
  queue_cap: 0
workload: {type: wfcommons, file: )") + kShared + "wfcommons/epigenomics-chameleon-hep-1seq-100k-001.json, count: 3, interval: 100}\npolicy: random\npriority: " + priority + "\n");
    auto r = sim::simulate(s);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->jobs.size(), 3u);
    EXPECT_EQ(r->summary.tasks_completed, 3u * 41);
    EXPECT_NEAR(r->jobs[2].submit, 200, 1e-9);
  }
}

TEST(Dag, MalformedWorkloadFilesAreRefusedWithTheirLocation) {
  const auto dir = std::filesystem::temp_directory_path() / ("fulcrum-dag-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "cycle.json") << R"({"tasks": [{"id": "a", "flops": 1}, {"id": "b", "flops": 1}],
    "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "a"}]})";
  std::ofstream(dir / "negative.swf") << "1 0 0 -5 1 -1 -1 1 -1 -1 1 1 1 -1 1 -1 -1 -1\n";
  const std::string cluster = "cluster: {hosts: [{count: 2}]}\n";
  auto cycle = sim::simulate(scenario(cluster + "workload: {type: dag, file: " + (dir / "cycle.json").string() + "}\n"));
  ASSERT_FALSE(cycle.ok());
  EXPECT_NE(cycle.error().find("cycle.json"), std::string::npos) << cycle.error();
  EXPECT_NE(cycle.error().find("cycle"), std::string::npos) << cycle.error();
  auto negative = sim::simulate(scenario(cluster + "workload: {type: swf, file: " + (dir / "negative.swf").string() + "}\n"));
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().find("negative.swf"), std::string::npos) << negative.error();
  std::filesystem::remove_all(dir);
}

// kill_at_estimate, worked by hand on one 4-core host (speed 1, reference_speed 1):
// job 1 asks 2 processors for 100 s but runs 150 s; job 2 asks 2 for 50 s and runs 30 s;
// job 3 gives no requested time (-1) and runs 40 s. With kill_at_estimate, job 1 is
// killed at 100 s (its tasks fail: one attempt, max_attempts 1; the first member's
// timeout stops the gang), job 2 runs 30 s, job 3 is never killed (no limit) and runs
// 40 s (after job 2). Without it, job 1 runs its 150 s.
TEST(Swf, KillAtEstimateKillsAJobAtItsRequestedTimeAndOnlyThen) {
  const auto dir = std::filesystem::temp_directory_path() / ("fulcrum-kill-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "kill.swf") << "1 0 0 150 2 -1 -1 2 100 -1 1 1 1 -1 1 -1 -1 -1\n"
                                     "2 0 0 30 2 -1 -1 2 50 -1 1 1 1 -1 1 -1 -1 -1\n"
                                     "3 0 0 40 1 -1 -1 1 -1 -1 1 1 1 -1 1 -1 -1 -1\n";
  const auto run = [&](const std::string& extra) {
    return sim::simulate(scenario("cluster: {hosts: [{count: 1, slots: 4, speed: 1}], network: {latency: 0}}\n"
                                  "recovery: {max_attempts: 1}\n"
                                  "workload: {type: swf, reference_speed: 1, file: " + (dir / "kill.swf").string() +
                                  extra + "}\n"));
  };
  auto killed = run(", kill_at_estimate: true");
  ASSERT_TRUE(killed.ok()) << killed.error();
  ASSERT_EQ(killed->tasks.size(), 4u + 1u);
  for (const TaskRecord& t : killed->tasks) {
    if (t.job == 0) {
      EXPECT_EQ(t.state, TaskState::kFailed) << t.id;
      EXPECT_NEAR(t.end, 100, 1e-3) << t.id;  // no start report without faults: start is -1
      EXPECT_EQ(t.attempts, 1u);
    } else {
      EXPECT_EQ(t.state, TaskState::kFinished) << t.id;
      EXPECT_NEAR(t.end - t.start, t.job == 1 ? 30 : 40, 1e-3) << t.id;
    }
  }
  EXPECT_NEAR(killed->jobs[0].estimate, 100, 1e-9);  // the requested time as given
  std::size_t timeouts = 0;
  for (const EventRecord& e : killed->events) timeouts += e.kind == "task_timed_out";
  EXPECT_EQ(timeouts, 1u);  // the first member's; the gang stops the other with it
  auto kept = run("");
  ASSERT_TRUE(kept.ok()) << kept.error();
  for (const TaskRecord& t : kept->tasks) {
    EXPECT_EQ(t.state, TaskState::kFinished) << t.id;
    if (t.job == 0) EXPECT_NEAR(t.end - t.start, 150, 1e-3);
  }
  EXPECT_NEAR(kept->jobs[0].estimate, 150, 1e-9);  // at least the run time
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fulcrum
