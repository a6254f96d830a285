// The resource model's invariants over many generated scenarios (issue 16): for each seed
// a random cluster (host groups of random cores, memory, GPUs, labels and zones), a
// random mix of task classes (requests, required labels or zones, spread), a random policy,
// queue discipline and queue cap, and random faults (host crashes, zone outages by crash
// or partition). From each run's records:
// - no host is over-committed in any dimension at any instant (sim/tests/occupancy.h);
// - every task ran only on a host that carries what it requires;
// - nothing is lost: every task finished or failed, each completion counted once, and the
//   tasks refused at submission are exactly those that fit no host (brute force over the
//   host groups).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "core/random.h"
#include "model/arrivals.h"
#include "scenario/load.h"
#include "sim/isolated.h"
#include "sim/tests/occupancy.h"

namespace fulcrum {
namespace {

constexpr double kGiB = 1024.0 * 1024 * 1024;

struct Generated {
  std::string yaml;
  std::string policy;
  // The zone outage, when it is a partition: completions on its hosts reach the scheduler
  // only when it ends, so the records cannot say when those tasks let go of their hosts.
  std::string partitioned_zone;
  double partition_from = 0, partition_to = 0;
};

std::string pick(Rng& rng, const std::vector<std::string>& from) { return from[rng.uniform_int(from.size())]; }

// A random scenario; its YAML is the failure message when a check fails.
Generated generate(std::uint64_t seed) {
  Rng rng(seed, 77);
  std::ostringstream y;
  y.precision(17);
  const int zones = 1 + static_cast<int>(rng.uniform_int(2));
  y << "seed: " << seed << "\ncluster:\n";
  y << "  network: {latency: 1e-9, bandwidth: 1e12}\n";
  y << "  queue_cap: " << pick(rng, {"-1", "0", "2"}) << "\n";
  y << "  zones:\n";
  for (int z = 0; z < zones; ++z) y << "    z" << z << ": {latency: 1e-7, bandwidth: 1e11}\n";
  y << "  hosts:\n";
  const int groups = 2 + static_cast<int>(rng.uniform_int(3));
  std::vector<std::string> used_zones;
  for (int g = 0; g < groups; ++g) {
    y << "    - {name: g" << g << ", count: " << 1 + rng.uniform_int(3) << ", speed: " << (1 + rng.uniform_int(3))
      << "e9, resources: {cores: " << 2 + rng.uniform_int(15);
    if (rng.uniform01() < 0.8) y << ", memory: " << 4 + rng.uniform_int(61) << "GiB";
    if (rng.uniform01() < 0.4) y << ", gpus: " << 1 + rng.uniform_int(2);
    const std::string zone = "z" + std::to_string(rng.uniform_int(zones));
    used_zones.push_back(zone);
    y << "}, labels: {disk: " << pick(rng, {"ssd", "hdd"}) << "}, zone: " << zone << "}\n";
  }
  y << "workload:\n  rate: " << 2 + rng.uniform_int(8) << "\n  tasks: 400\n";
  y << "  size: {dist: exponential, mean: 2e9}\n  classes:\n";
  const int classes = 2 + static_cast<int>(rng.uniform_int(3));
  std::vector<int> weights;
  int total = 0;
  for (int c = 0; c < classes; ++c) total += weights.emplace_back(1 + static_cast<int>(rng.uniform_int(4)));
  for (int c = 0; c < classes; ++c) {
    y << "    - {share: " << static_cast<double>(weights[c]) / total
      << ", resources: {cores: " << pick(rng, {"0.5", "1", "2", "4", "8"});
    const double mem = rng.uniform01();
    if (mem < 0.4) {
      y << ", memory: " << 1 + rng.uniform_int(8) << "GiB";
    } else if (mem < 0.8) {
      y << ", memory: {dist: uniform, low: 256MiB, high: " << 1 + rng.uniform_int(16) << "GiB}";
    }
    if (rng.uniform01() < 0.2) y << ", gpus: 1";
    y << "}";
    const double req = rng.uniform01();
    if (req < 0.25) {
      y << ", require: {disk: ssd}";
    } else if (req < 0.4) {
      y << ", require: {zone: z" << rng.uniform_int(zones) << "}";
    }
    if (rng.uniform01() < 0.3) y << ", spread: " << pick(rng, {"host", "zone"});
    y << "}\n";
  }
  Generated g;
  g.policy = pick(rng, {"jsq", "power_of_d:d=2", "least_connections", "round_robin", "weighted_random", "first_fit",
                        "binpack", "spread", "tetris"});
  y << "policy: " << g.policy << "\nqueue: " << pick(rng, {"strict", "skip_ahead"}) << "\n";
  y << "recovery: {max_attempts: 6, retry_backoff: 0.5}\nfaults:\n";
  y << "  - {kind: crash, group: g" << rng.uniform_int(groups) << ", at: " << 5 + rng.uniform_int(20)
    << ", recover_after: " << 5 + rng.uniform_int(15) << "}\n";  // over by 40
  const std::string zone = pick(rng, used_zones);
  const double at = 45 + static_cast<double>(rng.uniform_int(40));
  const double duration = 5 + static_cast<double>(rng.uniform_int(20));
  const std::string mode = pick(rng, {"crash", "partition"});
  y << "  - {kind: zone_outage, zone: " << zone << ", at: " << at << ", duration: " << duration << ", mode: " << mode
    << "}\n";
  if (mode == "partition") {
    g.partitioned_zone = zone;
    g.partition_from = at;
    g.partition_to = at + duration;
  }
  g.yaml = y.str();
  return g;
}

TEST(ResourcesProperty, NeverOvercommittedConstraintsHeldNothingLost) {
  int runs = 0, refused = 0, retried = 0, required = 0;
  std::map<std::string, int> policies;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    const Generated g = generate(seed);
    SCOPED_TRACE("seed " + std::to_string(seed) + ":\n" + g.yaml);
    auto loaded = load_scenario_text(g.yaml, std::string(FULCRUM_SOURCE_DIR) + "/examples/generated.yaml");
    ASSERT_TRUE(loaded.ok()) << loaded.error();
    const Scenario& s = *loaded;
    auto r = sim::simulate(s);
    ASSERT_TRUE(r.ok()) << r.error();
    ++runs;
    ++policies[g.policy];

    // Each task's request and constraints, drawn again as the simulator drew them.
    std::vector<TaskSpec> tasks;
    {
      ArrivalStream arrivals(s.workload, s.seed);
      TaskClassStream classes(s.classes, s.seed);
      Arrival a;
      while (arrivals.next(a)) tasks.push_back(classes.next(a));
    }
    ASSERT_EQ(tasks.size(), r->tasks.size());
    const std::vector<WorkerSpec> hosts = worker_specs(s.cluster);
    std::vector<Resources> capacity;
    for (const WorkerSpec& w : hosts) capacity.push_back(w.capacity());

    // Over-commitment: the records carry each task's request; it must be the one drawn.
    for (const TaskRecord& t : r->tasks) {
      ASSERT_EQ(t.cores, tasks[t.id].request.cores) << "task " << t.id;
      ASSERT_EQ(t.memory, tasks[t.id].request.memory) << "task " << t.id;
    }
    auto spans = testing::occupancies(*r, [&](const TaskRecord& t) { return tasks.at(t.id).request; }, 1e-4);
    // A completion held back by the partition: the task let go of its host at some time
    // before the record's end, which is when the partition healed. Only what is certain is
    // checked: that it held the host until the partition began.
    for (testing::Occupancy& o : spans) {
      if (g.partitioned_zone.empty() || hosts[o.host].zone != g.partitioned_zone) continue;
      if (o.end < g.partition_from || o.end > g.partition_to + 1) continue;
      o.end = std::max(o.start, std::min(o.end, g.partition_from - 1e-3));
    }
    ASSERT_EQ(testing::first_overcommit(spans, capacity), "");

    // Constraints, and refusals exactly where nothing fits.
    std::uint64_t unfit = 0;
    for (const TaskRecord& t : r->tasks) {
      const TaskSpec& spec = tasks[t.id];
      bool fits_some = false;
      for (const WorkerSpec& h : hosts) fits_some |= carries(h, spec.require) && first_misfit(spec.request, h.capacity()).empty();
      if (!fits_some) {
        ++unfit;
        EXPECT_EQ(t.state, TaskState::kFailed) << "task " << t.id << " fits no host";
        EXPECT_EQ(t.attempts, 0u) << "task " << t.id << " fits no host";
        continue;
      }
      if (!spec.require.empty()) ++required;
      if (t.attempts == 0) continue;
      ASSERT_LT(t.worker, hosts.size()) << "task " << t.id;
      EXPECT_TRUE(carries(hosts[t.worker], spec.require)) << "task " << t.id << " ran on " << hosts[t.worker].name;
      EXPECT_TRUE(first_misfit(spec.request, hosts[t.worker].capacity()).empty()) << "task " << t.id;
    }
    EXPECT_EQ(r->summary.tasks_unschedulable, unfit);
    refused += static_cast<int>(unfit);
    retried += static_cast<int>(r->summary.tasks_retried);

    // Nothing lost, nothing twice.
    EXPECT_EQ(r->summary.tasks_lost, 0u);
    EXPECT_EQ(r->summary.tasks_completed + r->summary.tasks_failed, r->summary.tasks_submitted);
    std::uint64_t per_worker = 0;
    for (const WorkerRecord& w : r->workers) per_worker += w.tasks;
    EXPECT_EQ(per_worker, r->summary.tasks_completed);
    for (const TaskRecord& t : r->tasks) {
      EXPECT_TRUE(t.state == TaskState::kFinished || t.state == TaskState::kFailed) << "task " << t.id;
    }
    if (HasFailure()) return;
  }
  // Not vacuous: the runs refused, retried and constrained tasks, under many policies.
  EXPECT_EQ(runs, 30);
  EXPECT_GT(refused, 0);
  EXPECT_GT(retried, 0);
  EXPECT_GT(required, 100);
  EXPECT_GE(policies.size(), 6u);
}

}  // namespace
}  // namespace fulcrum
