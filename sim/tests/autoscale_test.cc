// The autoscaler in simulation, end to end: under a load step (low, high, low) the cluster
// boots standby hosts, then drains and powers them off; nothing is lost, the number of
// scale actions stays bounded, the energy plugin reports energy, and runs are
// deterministic.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "results/metrics.h"
#include "scenario/load.h"
#include "sim/isolated.h"

namespace fulcrum {
namespace {
using sim::simulate;

// 16 hosts of 2 slots at 1 Gflop/s, 1 Gflop tasks on average (1 slot-second). Rate 1 keeps
// the minimum (2 hosts) at 25 %; rate 12 needs 10 hosts at 60 %.
constexpr const char* kStep = R"yaml(
seed: 5
cluster:
  hosts: [{count: 16, speed: 1e9, slots: 2}]
workload:
  type: poisson
  rate: 1
  size: {dist: exponential, mean: 1e9}
  tasks: 6000
  rate_profile: {kind: step, at: [0, 200, 600], factor: [1, 12, 1]}
policy: least_connections
autoscale: {metric: utilisation, target: 0.6, min: 2, max: 16, period: 5, window: 30,
            cooldown_out: 10, cooldown_in: 60, boot_delay: 20, initial: 2}
)yaml";

Scenario load(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  auto s = load_scenario_text(yaml, "step.yaml", overrides);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
  return *s;
}

struct Trace {
  int scale_outs = 0, scale_ins = 0, retired = 0, boots = 0;
  int peak = 0, final_up = 0;
};

// Hosts up over time, from the events: 2 at first, + per boot, - per retirement.
Trace trace(const RunRecords& r, int initial) {
  Trace t;
  int up = initial;
  t.peak = up;
  for (const EventRecord& e : r.events) {
    if (e.kind == "scale_out") ++t.scale_outs;
    if (e.kind == "scale_in") ++t.scale_ins;
    if (e.kind == "boot") t.peak = std::max(t.peak, ++up), ++t.boots;
    if (e.kind == "worker_retired") --up, ++t.retired;
  }
  t.final_up = up;
  return t;
}

TEST(SimAutoscale, GrowsAndShrinksUnderALoadStepWithoutLosingATask) {
  auto r = simulate(load(kStep));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->summary.tasks_completed, 6000u);
  EXPECT_EQ(r->summary.tasks_lost, 0u);
  const Trace t = trace(*r, 2);
  EXPECT_GE(t.peak, 9);
  EXPECT_LE(t.peak, 16);
  EXPECT_LE(t.final_up, 4);
  EXPECT_EQ(t.scale_ins, t.retired);  // every drained host powered off
  // Bounded: one step up and one down, not a flap per evaluation (the run has ~200).
  EXPECT_LE(t.scale_outs, 10);
  EXPECT_LE(t.scale_ins, 30);
  // Every scale-out comes with the step up (or its backlog), none in the low phase before.
  for (const EventRecord& e : r->events) {
    if (e.kind == "scale_out") {
      EXPECT_GE(e.time, 200) << e.detail;
    }
  }
  // Capacity used is well below 16 hosts for the whole run, and energy was measured.
  const double end = r->summary.makespan + r->tasks.front().submit;
  EXPECT_LT(r->summary.host_seconds, 0.7 * 16 * end);
  EXPECT_GT(r->summary.host_seconds, 2 * end);
  EXPECT_GT(r->summary.energy_joules, 0);
  std::printf("peak %d, final %d, scale-outs %d, scale-ins %d, host-seconds %.0f of %.0f, energy %.0f J\n", t.peak,
              t.final_up, t.scale_outs, t.scale_ins, r->summary.host_seconds, 16 * end, r->summary.energy_joules);
}

TEST(SimAutoscale, SavesHostSecondsAndEnergyAgainstTheFixedCluster) {
  auto scaled = simulate(load(kStep));
  // The same cluster, all 16 hosts on all the time, with the same power model.
  Scenario fixed = load(kStep);
  fixed.autoscale = AutoscaleSpec{};
  fixed.power.given = true;
  auto full = simulate(fixed);
  ASSERT_TRUE(scaled.ok() && full.ok());
  EXPECT_EQ(full->summary.tasks_lost, 0u);
  EXPECT_LT(scaled->summary.host_seconds, 0.7 * full->summary.host_seconds);
  EXPECT_LT(scaled->summary.energy_joules, full->summary.energy_joules);
  // Idle hosts draw the idle power: 16 hosts x 100 W at least over the run.
  EXPECT_GT(full->summary.energy_joules, 100 * full->summary.host_seconds);
}

TEST(SimAutoscale, IsDeterministic) {
  auto a = simulate(load(kStep, {"workload.tasks=3000"}));
  auto b = simulate(load(kStep, {"workload.tasks=3000"}));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(summary_fields(a->summary), summary_fields(b->summary));
  ASSERT_EQ(a->events.size(), b->events.size());
  for (std::size_t i = 0; i < a->events.size(); ++i) {
    EXPECT_EQ(a->events[i].time, b->events[i].time);
    EXPECT_EQ(a->events[i].kind, b->events[i].kind);
    EXPECT_EQ(a->events[i].host, b->events[i].host);
  }
  for (std::size_t i = 0; i < a->tasks.size(); ++i) {
    EXPECT_EQ(a->tasks[i].end, b->tasks[i].end);
    EXPECT_EQ(a->tasks[i].worker, b->tasks[i].worker);
  }
}

TEST(SimAutoscale, WithoutAutoscaleEveryHostCountsTheWholeRun) {
  auto r = simulate(load(kStep, {"workload.tasks=500"}));
  Scenario plain = load(kStep, {"workload.tasks=500"});
  plain.autoscale = AutoscaleSpec{};
  auto p = simulate(plain);
  ASSERT_TRUE(r.ok() && p.ok());
  EXPECT_EQ(p->summary.energy_joules, 0);  // no power model asked for
  const double end = p->summary.makespan + p->tasks.front().submit;
  EXPECT_NEAR(p->summary.host_seconds, 16 * end, 16 * 0.01);  // the run ends as the last report arrives
}

TEST(SimAutoscale, ScenarioErrorsNameTheKey) {
  for (const auto& [override_text, needle] : std::map<std::string, std::string>{
           {"autoscale.max=17", "autoscale.max: must be at most 16"},
           {"autoscale.metric=cpu", "autoscale.metric: must be utilisation or backlog"},
           {"autoscale.initial=1", "autoscale.initial: must be at least min (2)"},
           {"autoscale.window=1", "autoscale.window: must be a number of seconds >= period"},
           {"autoscale.speed=1", "unknown key 'speed'"},
           {"workload.rate_profile.kind=weekly", "unknown rate profile 'weekly'"},
           {"workload.rate_profile.factor=[1, 2, 0]", "the last factor must be positive"},
       }) {
    auto s = load_scenario_text(kStep, "step.yaml", {override_text});
    ASSERT_FALSE(s.ok()) << override_text;
    EXPECT_NE(s.error().find(needle), std::string::npos) << s.error();
  }
}

}  // namespace
}  // namespace fulcrum
