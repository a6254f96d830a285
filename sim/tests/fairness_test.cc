// Tenants in simulation (issue 18): DRF's example from its paper reached on a simulated
// host, and the example scenario's tenants checked from the records alone: nothing lost,
// no host over-committed, limits never exceeded, preemptions counted, tenants.csv's rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "scenario/load.h"
#include "sim/isolated.h"
#include "sim/tests/occupancy.h"

namespace fulcrum {
namespace {

Scenario load(const std::string& yaml) {
  auto s = load_scenario_text(yaml, std::string(FULCRUM_SOURCE_DIR) + "/examples/fairness_test.yaml");
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
  return s.ok() ? *s : Scenario{};
}

const std::string& tenant_of(const RunRecords& r, const TaskRecord& t) { return r.jobs.at(t.job).tenant; }

// Tasks of each tenant running at t (a finished task's last attempt, [start, end)).
std::map<std::string, int> running_at(const RunRecords& r, double t) {
  std::map<std::string, int> n;
  for (const TaskRecord& task : r.tasks) {
    if (task.start >= 0 && task.start <= t && t < task.end) ++n[tenant_of(r, task)];
  }
  return n;
}

// 9 cores and 18 GiB; A's tasks ask <1 core, 4 GiB>, B's <3 cores, 1 GiB>, 100 s each,
// 200 of each arriving within the first second in a random mix. Whoever came first, as
// tasks end and free room, DRF refills toward the paper's allocation, A 3 and B 2, and it
// holds: an A task that ends is replaced by an A task (A's share is then the smaller), a
// B task by a B task.
TEST(SimFairness, DrfReachesThePapersAllocationAndKeepsIt) {
  const Scenario s = load(R"(
cluster: {hosts: [{count: 1, speed: 1e9, resources: {cores: 9, memory: 18GiB}}], network: {latency: 0}}
tenants: {A: {}, B: {}}
discipline: drf
workload:
  rate: 400
  tasks: 400
  size: {dist: constant, value: 1e11}
  classes:
    - {share: 0.5, tenant: A, resources: {cores: 1, memory: 4GiB}}
    - {share: 0.5, tenant: B, resources: {cores: 3, memory: 1GiB}}
)");
  auto r = sim::simulate(s);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->summary.tasks_completed, 400u);
  for (const double t : {350.0, 1050.0, 2550.0}) {
    EXPECT_EQ(running_at(*r, t), (std::map<std::string, int>{{"A", 3}, {"B", 2}})) << "at t=" << t;
  }
}

// The example scenario (examples/fairness.yaml), from its records: everything finishes
// once, no host holds more than it has, interactive never holds more than its 16-core
// limit, preemptions happened and are in the summary and tenants.csv alike, and each
// tenant has its row.
TEST(SimFairness, TheExampleKeepsLimitsAndLosesNothing) {
  auto loaded = load_scenario_file(std::string(FULCRUM_SOURCE_DIR) + "/examples/fairness.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  auto r = sim::simulate(*loaded);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->summary.tasks_completed, r->summary.tasks_submitted);
  EXPECT_EQ(r->summary.tasks_lost, 0u);

  std::vector<Resources> capacity;
  for (const WorkerRecord& w : r->workers) capacity.push_back(Resources{.cores = double(w.slots), .memory = w.memory});
  const auto spans = testing::occupancies(
      *r, [](const TaskRecord& t) { return Resources{.cores = t.cores, .memory = t.memory, .gpus = t.gpus}; }, 1e-6);
  EXPECT_EQ(testing::first_overcommit(spans, capacity), "");

  // interactive's cores at every start of one of its tasks.
  std::vector<std::pair<double, double>> edges;
  for (const TaskRecord& t : r->tasks) {
    if (tenant_of(*r, t) != "interactive" || t.state != TaskState::kFinished) continue;
    edges.push_back({t.start, t.cores});
    edges.push_back({t.end - 1e-6, -t.cores});
  }
  std::sort(edges.begin(), edges.end());
  double held = 0, most = 0;
  for (const auto& [time, delta] : edges) most = std::max(most, held += delta);
  EXPECT_LE(most, 16 + 1e-9);
  EXPECT_GT(most, 8);  // it was bound by the limit, not by a lack of work

  EXPECT_GT(r->summary.tasks_preempted, 0u);
  std::uint64_t preemptions = 0;
  std::map<std::string, const TenantRecord*> rows;
  for (const TenantRecord& t : r->tenants) {
    preemptions += t.preemptions;
    rows[t.tenant] = &t;
  }
  EXPECT_EQ(preemptions, r->summary.tasks_preempted);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows["research"]->weight, 2);
  EXPECT_EQ(rows["interactive"]->preemptions, 0u);  // the highest class is never a victim
  double shares = 0;
  for (const auto& [name, row] : rows) shares += row->share_cores;
  EXPECT_NEAR(shares, r->summary.utilisation_cores, 1e-9);
  EXPECT_GT(r->summary.jain_fairness, 0);
  EXPECT_LE(r->summary.jain_fairness, 1);
}

}  // namespace
}  // namespace fulcrum
