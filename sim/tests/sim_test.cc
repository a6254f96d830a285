// The SimGrid driver end to end: every policy finishes every task, runs are
// deterministic, platform XML files work, and the CLI's result files are byte-identical
// for the same seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "policies/registry.h"
#include "results/write.h"
#include "scenario/load.h"
#include "sim/isolated.h"

namespace fulcrum {
namespace {

std::string source_dir() { return FULCRUM_SOURCE_DIR; }

Scenario small_scenario(const std::string& policy, int queue_cap = -1) {
  const std::string yaml = R"(
seed: 3
cluster:
  hosts:
    - {name: fast, count: 3, speed: 2e9, slots: 2}
    - {name: slow, count: 3, speed: 1e9, slots: 1}
  queue_cap: )" + std::to_string(queue_cap) + R"(
workload: {type: poisson, rate: 10, size: {dist: exponential, mean: 1e9}, tasks: 2000}
policy: )" + policy + "\n";
  auto s = load_scenario_text(yaml, "small.yaml");
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
  return *s;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Simulation, EveryPolicyFinishesEveryTaskOnce) {
  for (const std::string& policy : classic_policies()) {
    for (int cap : {-1, 0}) {
      SCOPED_TRACE(policy + " queue_cap=" + std::to_string(cap));
      auto r = sim::simulate(small_scenario(policy, cap));
      ASSERT_TRUE(r.ok()) << r.error();
      EXPECT_EQ(r->summary.tasks_submitted, 2000u);
      EXPECT_EQ(r->summary.tasks_completed, 2000u);
      EXPECT_EQ(r->summary.tasks_lost, 0u);
      std::uint64_t per_worker = 0;
      for (const WorkerRecord& w : r->workers) per_worker += w.tasks;
      EXPECT_EQ(per_worker, 2000u);
      for (const TaskRecord& t : r->tasks) {
        ASSERT_LE(t.submit, t.start);
        ASSERT_LT(t.start, t.end);
        ASSERT_EQ(t.attempts, 1u);
      }
    }
  }
}

TEST(Simulation, ServiceTimeIsFlopsOverSpeed) {
  // One task of 3e9 flops on a 1.5e9 flop/s host takes 2 s. The dispatch and the
  // completion each cross two links; SimGrid's default TCP model (LV08) multiplies a
  // route's latency by 13.01, so each message takes about 2 x 13.01 x 1 ms.
  auto s = load_scenario_text(R"(
cluster: {hosts: [{count: 1, speed: 1.5e9}], network: {latency: 0.001, bandwidth: 1e12}}
workload: {rate: 1, size: {dist: constant, value: 3e9}, tasks: 1}
)", "one.yaml");
  ASSERT_TRUE(s.ok()) << s.error();
  auto r = sim::simulate(*s);
  ASSERT_TRUE(r.ok()) << r.error();
  const TaskRecord& t = r->tasks.at(0);
  const double message = 2 * 13.01 * 0.001;
  EXPECT_NEAR(t.start - t.submit, message, 1e-4);
  EXPECT_NEAR(t.end - t.start, 2.0 + message, 1e-4);
}

TEST(Simulation, SameSeedGivesByteIdenticalTaskFiles) {
  const auto dir = std::filesystem::temp_directory_path() / ("fulcrum-det-" + std::to_string(::getpid()));
  const Scenario s = small_scenario("power_of_d:d=2");
  for (const char* run : {"a", "b"}) {
    auto r = sim::simulate(s);
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_TRUE(write_results((dir / run).string(), s, *r).ok());
  }
  const std::string a = slurp(dir / "a" / "tasks.csv");
  EXPECT_GT(a.size(), 2000u * 20);
  EXPECT_EQ(a, slurp(dir / "b" / "tasks.csv"));
  EXPECT_EQ(slurp(dir / "a" / "summary.json"), slurp(dir / "b" / "summary.json"));
  Scenario other = s;
  other.seed = 4;
  auto r = sim::simulate(other);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(write_results((dir / "c").string(), other, *r).ok());
  EXPECT_NE(a, slurp(dir / "c" / "tasks.csv"));
  std::filesystem::remove_all(dir);
}

TEST(Simulation, RunsOnASimGridPlatformFile) {
  const std::string platform = source_dir() + "/../shared/workloads/platforms/small_platform.xml";
  ASSERT_TRUE(std::filesystem::exists(platform)) << platform;
  auto s = load_scenario_text(R"(
cluster: {platform: )" + platform + R"(}
workload: {rate: 0.2, size: {dist: exponential, mean: 5e7}, tasks: 300}
policy: weighted_round_robin
)", "platform.yaml");
  ASSERT_TRUE(s.ok()) << s.error();
  auto r = sim::simulate(*s);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->summary.tasks_completed, 300u);
  // small_platform.xml has 7 hosts: the first by name runs the scheduler, six work.
  ASSERT_EQ(r->workers.size(), 6u);
  // Smooth WRR by speed: the fastest host does the most tasks.
  const auto fastest = std::max_element(r->workers.begin(), r->workers.end(),
                                        [](const WorkerRecord& a, const WorkerRecord& b) { return a.speed < b.speed; });
  for (const WorkerRecord& w : r->workers) EXPECT_LE(w.tasks, fastest->tasks) << w.name;
}

TEST(Simulation, AnUnloadablePlatformIsAnErrorNotACrash) {
  const auto dir = std::filesystem::temp_directory_path() / ("fulcrum-bad-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "broken.xml") << "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\"><host id=\"a\"";
  Scenario s = small_scenario("random");
  s.cluster.groups.clear();
  s.cluster.platform = (dir / "broken.xml").string();
  auto r = sim::simulate(s);
  EXPECT_FALSE(r.ok());
  std::filesystem::remove_all(dir);
}

// A Cancel stops the simulated attempt, as a worker kills its process: after a timeout
// the slot the core frees is free on the host too. One single-slot host, tasks of 10 s
// that time out after 2 s: each next task starts about 2 s after the previous one (before,
// the cancelled attempt ran its 10 s on and the next task waited behind it). Timeouts are
// checked every second, so an attempt lasts 2 to 3 s.
TEST(Simulation, ATimedOutAttemptFreesItsSlotOnTheHost) {
  auto scenario = load_scenario_text(R"(
seed: 5
cluster: {hosts: [{count: 1, speed: 1e9, slots: 1}], network: {latency: 1e-6}}
workload: {type: poisson, rate: 4, size: {dist: constant, value: 1e10}, tasks: 10}
policy: round_robin
recovery: {task_timeout: 2, max_attempts: 1}
)", "timeouts.yaml");
  ASSERT_TRUE(scenario.ok()) << scenario.error();
  auto r = sim::simulate(*scenario);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->tasks.size(), 10u);
  std::vector<double> starts;
  for (const TaskRecord& t : r->tasks) {
    EXPECT_EQ(t.state, TaskState::kFailed) << "task " << t.id;
    EXPECT_EQ(t.attempts, 1u) << "task " << t.id;
    starts.push_back(t.start);
  }
  std::sort(starts.begin(), starts.end());
  for (std::size_t i = 1; i < starts.size(); ++i) {
    EXPECT_LT(starts[i] - starts[i - 1], 3.1) << "the task started " << i << "th waited behind a cancelled attempt";
  }
  EXPECT_LT(r->summary.makespan, 35);
}

// 35,000 single-slot hosts are 35,000 executor actors: with SimGrid's guarded 8 MiB stacks
// (two mappings each) that passes Linux's vm.max_map_count and SimGrid aborted. Large
// clusters get small heap stacks instead (sim/driver.cc), and run.
TEST(Simulation, AClusterBeyondTheMappingLimitRuns) {
  auto scenario = load_scenario_text(R"(
cluster: {hosts: [{count: 35000, speed: 1e9, slots: 1}]}
workload: {type: poisson, rate: 100, tasks: 200}
policy: power_of_d:d=2
)", "large.yaml");
  ASSERT_TRUE(scenario.ok()) << scenario.error();
  auto r = sim::simulate(*scenario);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->summary.tasks_completed, 200u);
  EXPECT_EQ(r->workers.size(), 35000u);
}

}  // namespace
}  // namespace fulcrum
