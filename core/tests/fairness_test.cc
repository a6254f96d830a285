// Tenants in the core (issue 18), on hand-worked examples: DRF's example from its paper,
// weights, limits, quotas reclaimed by preemption, priority classes and grace periods.
#include <gtest/gtest.h>

#include <map>

#include "core/scheduler.h"
#include "policies/registry.h"

namespace fulcrum {
namespace {

constexpr double kGiB = 1024.0 * 1024 * 1024;

SchedulerConfig fair(SchedulerConfig::Fairness fairness, std::vector<TenantSpec> tenants) {
  SchedulerConfig c{/*seed=*/1, /*queue_cap=*/0, /*epoch=*/1};
  c.fairness = fairness;
  c.tenants = std::move(tenants);
  c.pass_per_instant = true;
  return c;
}

std::unique_ptr<Scheduler> make(const SchedulerConfig& c, const std::string& policy = "least_connections") {
  auto p = make_policy(policy);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error());
  return std::make_unique<Scheduler>(c, std::move(*p));
}

WorkerSpec host(const std::string& name, int cores, double memory = 0) {
  WorkerSpec w{name, "g", 1, cores, 0};
  w.resources.memory = memory;
  return w;
}

JobSpec job(const std::string& tenant, double cores, double memory = 0, std::int32_t priority_class = 0,
            double seconds = 10) {
  TaskSpec t{seconds, {}};
  t.request.cores = cores;
  t.request.memory = memory;
  JobSpec j;
  j.tasks = {t};
  j.tenant = tenant;
  j.priority_class = priority_class;
  return j;
}

TenantSpec tenant(const std::string& name, double weight = 1, Resources quota = {}, Resources limit = {}) {
  return TenantSpec{name, weight, std::move(quota), std::move(limit)};
}

std::vector<Command> drain(Scheduler& s) {
  std::vector<Command> out;
  s.take_commands(out);
  return out;
}

// Tasks of each tenant on workers (queued or running) now.
std::map<std::string, int> placed(const Scheduler& s) {
  std::map<std::string, int> n;
  for (const Task& t : s.table().tasks) {
    if (t.state == TaskState::kQueued || t.state == TaskState::kRunning) ++n[s.table().jobs[t.job].tenant];
  }
  return n;
}

// Ghodsi et al., NSDI'11, section 4: 9 CPUs and 18 GB; A's tasks need <1 CPU, 4 GB>, B's
// <3 CPUs, 1 GB>. Progressive filling gives the tenant with the smaller dominant share
// the next task: A (0) 1 task -> 4/18; B (0) 1 -> 3/9; A 2 -> 8/18; B 2 -> 6/9; A 3 ->
// 12/18; then neither fits (9 CPUs used). A runs 3 tasks and B 2, both at a dominant
// share of 2/3, in whichever order their work arrived.
TEST(Drf, ReproducesThePapersExampleWhateverTheArrivalOrder) {
  for (const bool a_first : {true, false}) {
    auto s = make(fair(SchedulerConfig::Fairness::kDrf, {tenant("A"), tenant("B")}));
    s->on_worker_joined(0, host("h", 9, 18 * kGiB));
    for (int i = 0; i < 20; ++i) {
      const bool a = (i < 10) == a_first;
      s->on_job_submitted(0, a ? job("A", 1, 4 * kGiB) : job("B", 3, 1 * kGiB));
    }
    s->on_instant_end(0);
    EXPECT_EQ(placed(*s), (std::map<std::string, int>{{"A", 3}, {"B", 2}})) << "A first: " << a_first;
    const TenantLedger& l = s->tenants();
    EXPECT_NEAR(l.dominant_share(*l.find("A")), 2.0 / 3, 1e-12);
    EXPECT_NEAR(l.dominant_share(*l.find("B")), 2.0 / 3, 1e-12);
  }
}

// B came first and took the whole cluster (3 tasks of 3 CPUs). A arrives at 1 and waits
// (no preemption). At 10 B's tasks end together: the pass refills by DRF from scratch and
// reaches the paper's 3 and 2.
TEST(Drf, ConvergesToTheSameSharesAsWorkEnds) {
  auto s = make(fair(SchedulerConfig::Fairness::kDrf, {tenant("A"), tenant("B")}));
  const WorkerId w = s->on_worker_joined(0, host("h", 9, 18 * kGiB));
  for (int i = 0; i < 10; ++i) s->on_job_submitted(0, job("B", 3, 1 * kGiB));
  s->on_instant_end(0);
  EXPECT_EQ(placed(*s), (std::map<std::string, int>{{"B", 3}}));
  for (int i = 0; i < 10; ++i) s->on_job_submitted(1, job("A", 1, 4 * kGiB));
  s->on_instant_end(1);
  EXPECT_EQ(placed(*s), (std::map<std::string, int>{{"B", 3}}));
  for (TaskId t = 0; t < 3; ++t) s->on_task_finished(10, t, w, 0);
  s->on_instant_end(10);
  EXPECT_EQ(placed(*s), (std::map<std::string, int>{{"A", 3}, {"B", 2}}));
}

// Weights: A weighs 2, B 1, both backlogged with one-core tasks on 9 cores. Weighted DRF
// and the fair share of running tasks both give A twice B's: 6 and 3.
TEST(Fairness, WeightsDivideTheClusterInProportion) {
  for (const auto fairness : {SchedulerConfig::Fairness::kDrf, SchedulerConfig::Fairness::kRunningTasks}) {
    auto s = make(fair(fairness, {tenant("A", 2), tenant("B", 1)}));
    s->on_worker_joined(0, host("h", 9));
    for (int i = 0; i < 12; ++i) s->on_job_submitted(0, job(i % 2 ? "A" : "B", 1));
    s->on_instant_end(0);
    EXPECT_EQ(placed(*s), (std::map<std::string, int>{{"A", 6}, {"B", 3}}));
  }
}

// A limit is never exceeded, even with the cluster idle: A (limit 2 cores) gets 2 of 8,
// and a tenant without one takes what it needs of the rest.
TEST(Fairness, ALimitIsNeverExceeded) {
  auto s = make(fair(SchedulerConfig::Fairness::kDrf, {tenant("A", 1, {}, Resources{.cores = 2})}));
  const WorkerId w = s->on_worker_joined(0, host("h", 8));
  for (int i = 0; i < 6; ++i) s->on_job_submitted(0, job("A", 1));
  s->on_instant_end(0);
  EXPECT_EQ(placed(*s), (std::map<std::string, int>{{"A", 2}}));
  s->on_job_submitted(1, job("B", 1));
  s->on_instant_end(1);
  EXPECT_EQ(placed(*s), (std::map<std::string, int>{{"A", 2}, {"B", 1}}));
  s->on_task_finished(10, 0, w, 0);  // one of A's ends: the next takes its place, no more
  s->on_instant_end(10);
  EXPECT_EQ(placed(*s), (std::map<std::string, int>{{"A", 2}, {"B", 1}}));
}

// A's quota (2 cores) is idle and B (no quota) borrows the whole 4-core host. A's two
// tasks arrive at 5: with preemption on, the same pass takes two of B's back (they lose
// 5 s each, the same: the newest go) and starts A's. Without preemption A waits.
TEST(Preemption, AnIdleQuotaIsBorrowedAndReclaimedWithinOnePass) {
  for (const bool preempt : {true, false}) {
    SchedulerConfig c = fair(SchedulerConfig::Fairness::kDrf, {tenant("A", 1, Resources{.cores = 2}), tenant("B")});
    c.preemption.enabled = preempt;
    auto s = make(c);
    const WorkerId w = s->on_worker_joined(0, host("h", 4));
    for (int i = 0; i < 4; ++i) s->on_job_submitted(0, job("B", 1));
    s->on_instant_end(0);
    for (TaskId t = 0; t < 4; ++t) s->on_task_started(0, t, w);
    drain(*s);
    s->on_job_submitted(5, job("A", 1));
    s->on_job_submitted(5, job("A", 1));
    s->on_instant_end(5);
    const std::vector<Command> commands = drain(*s);
    if (!preempt) {
      EXPECT_EQ(placed(*s), (std::map<std::string, int>{{"B", 4}}));
      EXPECT_TRUE(commands.empty());
      continue;
    }
    EXPECT_EQ(placed(*s), (std::map<std::string, int>{{"A", 2}, {"B", 2}}));
    std::vector<TaskId> cancelled, dispatched;
    for (const Command& cmd : commands) {
      if (cmd.kind == Command::Kind::kCancel) cancelled.push_back(cmd.task);
      if (cmd.kind == Command::Kind::kDispatch) dispatched.push_back(cmd.task);
    }
    EXPECT_EQ(cancelled, (std::vector<TaskId>{3, 2}));
    EXPECT_EQ(dispatched, (std::vector<TaskId>{4, 5}));
    EXPECT_EQ(s->tasks_preempted(), 2u);
    EXPECT_DOUBLE_EQ(s->wasted_work(), 10);
    for (const TaskId t : {2u, 3u}) {
      EXPECT_EQ(s->table().tasks[t].state, TaskState::kPending);
      EXPECT_EQ(s->table().tasks[t].attempts, 0u);  // a preemption is not a failed attempt
      EXPECT_EQ(s->table().tasks[t].preemptions, 1u);
    }
  }
}

// A victim's tenant keeps its own quota: B (quota 3) runs 4 of 4 cores; A (quota 2)
// arrives with 2 tasks and may take only the one core B borrowed. The second waits.
TEST(Preemption, NeverTakesAVictimsTenantBelowItsQuota) {
  SchedulerConfig c = fair(SchedulerConfig::Fairness::kDrf,
                           {tenant("A", 1, Resources{.cores = 2}), tenant("B", 1, Resources{.cores = 3})});
  c.preemption.enabled = true;
  auto s = make(c);
  const WorkerId w = s->on_worker_joined(0, host("h", 4));
  for (int i = 0; i < 4; ++i) s->on_job_submitted(0, job("B", 1));
  s->on_instant_end(0);
  for (TaskId t = 0; t < 4; ++t) s->on_task_started(0, t, w);
  s->on_job_submitted(5, job("A", 1));
  s->on_job_submitted(5, job("A", 1));
  s->on_instant_end(5);
  EXPECT_EQ(placed(*s), (std::map<std::string, int>{{"A", 1}, {"B", 3}}));
  EXPECT_EQ(s->tasks_preempted(), 1u);
}

// Priority classes: B's class-0 tasks fill 2 hosts of 2 cores; A's class-1 task arrives.
// The victim is the one that loses least: B's task started at 8 on h1 (2 s) over those
// started at 0 (10 s). With a 3 s grace it runs on until 13 and is then cancelled, and
// A's task starts at 13. A victim that finishes within its grace is not preempted.
TEST(Preemption, AHigherClassTakesTheCheapestVictimAfterItsGrace) {
  for (const bool victim_finishes : {false, true}) {
    SchedulerConfig c = fair(SchedulerConfig::Fairness::kDrf, {});
    c.preemption.enabled = true;
    c.preemption.grace = 3;
    auto s = make(c);
    const WorkerId h0 = s->on_worker_joined(0, host("h0", 2));
    const WorkerId h1 = s->on_worker_joined(0, host("h1", 2));
    for (int i = 0; i < 3; ++i) s->on_job_submitted(0, job("B", 1));
    s->on_instant_end(0);
    for (TaskId t = 0; t < 3; ++t) s->on_task_started(0, t, s->table().tasks[t].worker);
    s->on_job_submitted(8, job("B", 1));  // task 3, the last core
    s->on_instant_end(8);
    const WorkerId late = s->table().tasks[3].worker;
    s->on_task_started(8, 3, late);
    drain(*s);
    s->on_job_submitted(10, job("A", 1, 0, /*priority_class=*/1));  // task 4
    s->on_instant_end(10);
    EXPECT_EQ(s->table().tasks[4].state, TaskState::kPending);
    EXPECT_TRUE(drain(*s).empty());
    EXPECT_EQ(s->next_wakeup(), 13);
    if (victim_finishes) s->on_task_finished(12, 3, late, 8);
    s->on_tick(13);
    s->on_instant_end(13);
    const std::vector<Command> commands = drain(*s);
    EXPECT_EQ(s->table().tasks[4].state, TaskState::kQueued);
    EXPECT_EQ(s->table().tasks[4].worker, late);
    if (victim_finishes) {
      EXPECT_EQ(s->tasks_preempted(), 0u);
      EXPECT_EQ(s->table().tasks[3].state, TaskState::kFinished);
    } else {
      EXPECT_EQ(s->tasks_preempted(), 1u);
      ASSERT_FALSE(commands.empty());
      EXPECT_EQ(commands[0].kind, Command::Kind::kCancel);
      EXPECT_EQ(commands[0].task, 3u);
      EXPECT_DOUBLE_EQ(s->wasted_work(), 5);
    }
    (void)h0;
    (void)h1;
  }
}

}  // namespace
}  // namespace fulcrum
