// The scheduler's decisions, driven by a tiny in-test driver: events in, commands out.
#include "core/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "policies/registry.h"

namespace fulcrum {
namespace {

std::unique_ptr<Scheduler> make(const std::string& policy, int queue_cap = -1, std::uint64_t seed = 1) {
  auto p = make_policy(policy);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error());
  return std::make_unique<Scheduler>(SchedulerConfig{seed, queue_cap, /*epoch=*/7}, std::move(*p));
}

WorkerSpec worker(const std::string& name, int slots = 1) { return WorkerSpec{name, "g", 1e9, slots, 0}; }

JobSpec independent(int n, double flops = 1e9) {
  JobSpec job;
  for (int i = 0; i < n; ++i) job.tasks.push_back(TaskSpec{flops, {}});
  return job;
}

std::vector<Command> drain(Scheduler& s) {
  std::vector<Command> out;
  s.take_commands(out);
  return out;
}

TEST(Scheduler, DispatchesReadyTasksAtOnceWithTheEpoch) {
  auto s = make("round_robin");
  s->on_worker_joined(0, worker("a"));
  s->on_worker_joined(0, worker("b"));
  s->on_job_submitted(1.0, independent(3));
  const auto cmds = drain(*s);
  ASSERT_EQ(cmds.size(), 3u);
  EXPECT_EQ(cmds[0].worker, 0u);
  EXPECT_EQ(cmds[1].worker, 1u);
  EXPECT_EQ(cmds[2].worker, 0u);
  for (const Command& c : cmds) {
    EXPECT_EQ(c.kind, Command::Kind::kDispatch);
    EXPECT_EQ(c.epoch, 7u);
    EXPECT_EQ(c.flops, 1e9);
  }
  EXPECT_EQ(s->table().tasks[2].state, TaskState::kQueued);
  EXPECT_EQ(s->cluster().worker(0).in_system, 2u);
}

TEST(Scheduler, RecordsACompletionExactlyOnce) {
  auto s = make("round_robin");
  s->on_worker_joined(0, worker("a"));
  s->on_job_submitted(0, independent(1));
  drain(*s);
  s->on_task_started(0.5, 0, 0);
  EXPECT_EQ(s->table().tasks[0].state, TaskState::kRunning);
  s->on_task_finished(2.0, 0, 0, 0.5);
  s->on_task_finished(3.0, 0, 0, 0.5);  // a duplicate report
  const Task& t = s->table().tasks[0];
  EXPECT_EQ(t.state, TaskState::kFinished);
  EXPECT_EQ(t.start, 0.5);
  EXPECT_EQ(t.end, 2.0);
  EXPECT_EQ(s->cluster().worker(0).completed, 1u);
  EXPECT_EQ(s->tasks_unfinished(), 0u);
}

TEST(Scheduler, IgnoresACompletionFromAWorkerTheTaskWasTakenFrom) {
  auto s = make("round_robin");
  s->on_worker_joined(0, worker("a"));
  s->on_worker_joined(0, worker("b"));
  s->on_job_submitted(0, independent(1));
  drain(*s);
  ASSERT_EQ(s->table().tasks[0].worker, 0u);
  s->on_worker_left(1.0, 0);
  const auto cmds = drain(*s);
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].worker, 1u);
  s->on_task_finished(2.0, 0, 0, 0.0);  // the dead worker's late report
  EXPECT_EQ(s->table().tasks[0].state, TaskState::kQueued);
  s->on_task_finished(3.0, 0, 1, 2.5);
  EXPECT_EQ(s->table().tasks[0].state, TaskState::kFinished);
  EXPECT_EQ(s->table().tasks[0].attempts, 2u);
  EXPECT_EQ(s->tasks_retried(), 1u);
}

TEST(Scheduler, LateBindingKeepsTasksCentralUntilASlotFrees) {
  auto s = make("round_robin", /*queue_cap=*/0);
  s->on_worker_joined(0, worker("a"));
  s->on_worker_joined(0, worker("b"));
  s->on_job_submitted(0, independent(5));
  auto cmds = drain(*s);
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0].task, 0u);
  EXPECT_EQ(cmds[1].task, 1u);
  EXPECT_EQ(s->table().tasks[2].state, TaskState::kPending);
  s->on_task_finished(1.0, 1, 1, 0.0);
  cmds = drain(*s);
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].task, 2u);  // central FIFO order
  EXPECT_EQ(cmds[0].worker, 1u);  // the only worker with a free slot
}

TEST(Scheduler, QueueCapBoundsEachWorkersBacklog) {
  auto s = make("round_robin", /*queue_cap=*/1);
  s->on_worker_joined(0, worker("a", 2));
  s->on_job_submitted(0, independent(5));
  EXPECT_EQ(drain(*s).size(), 3u);  // 2 slots + 1 queued
  EXPECT_EQ(s->cluster().worker(0).in_system, 3u);
}

TEST(Scheduler, WaitsWithoutWorkersAndDispatchesWhenOneJoins) {
  auto s = make("jsq");
  s->on_job_submitted(0, independent(2));
  EXPECT_TRUE(drain(*s).empty());
  s->on_worker_joined(5.0, worker("late"));
  EXPECT_EQ(drain(*s).size(), 2u);
}

TEST(Scheduler, ADeadWorkersTasksMoveElsewhereInTheirOrder) {
  auto s = make("round_robin");
  s->on_worker_joined(0, worker("a"));
  s->on_worker_joined(0, worker("b"));
  s->on_job_submitted(0, independent(4));  // a: 0, 2   b: 1, 3
  drain(*s);
  s->on_task_started(0.1, 0, 0);
  s->on_worker_left(1.0, 0);
  const auto cmds = drain(*s);
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0].task, 0u);
  EXPECT_EQ(cmds[1].task, 2u);
  EXPECT_EQ(cmds[0].worker, 1u);
  EXPECT_EQ(s->cluster().worker(1).in_system, 4u);
  EXPECT_FALSE(s->cluster().is_eligible(0));
}

TEST(Scheduler, AChildIsReadyOnlyWhenAllItsParentsFinished) {
  auto s = make("round_robin");
  s->on_worker_joined(0, worker("a", 4));
  JobSpec dag;
  dag.tasks = {TaskSpec{1, {}}, TaskSpec{1, {}}, TaskSpec{1, {0, 1}}};
  s->on_job_submitted(0, dag);
  EXPECT_EQ(drain(*s).size(), 2u);
  EXPECT_EQ(s->table().tasks[2].state, TaskState::kBlocked);
  s->on_task_finished(1, 0, 0, 0);
  EXPECT_TRUE(drain(*s).empty());
  s->on_task_finished(2, 1, 0, 0);
  const auto cmds = drain(*s);
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].task, 2u);
}

TEST(Scheduler, CancellingAJobCancelsItsDispatchedTasks) {
  auto s = make("round_robin", /*queue_cap=*/0);
  s->on_worker_joined(0, worker("a"));
  s->on_job_submitted(0, independent(3));
  drain(*s);
  s->on_job_cancelled(1.0, 0);
  const auto cmds = drain(*s);
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].kind, Command::Kind::kCancel);
  EXPECT_EQ(cmds[0].task, 0u);
  for (const Task& t : s->table().tasks) EXPECT_EQ(t.state, TaskState::kCancelled);
  EXPECT_EQ(s->tasks_unfinished(), 0u);
  EXPECT_EQ(s->cluster().worker(0).in_system, 0u);
}

TEST(Scheduler, SameSeedSameEventsSameCommands) {
  auto run = [](std::uint64_t seed) {
    auto s = make("random", -1, seed);
    for (int i = 0; i < 10; ++i) s->on_worker_joined(0, worker("w" + std::to_string(i)));
    std::vector<WorkerId> picks;
    for (int j = 0; j < 50; ++j) {
      s->on_job_submitted(j, independent(1));
      for (const Command& c : drain(*s)) picks.push_back(c.worker);
    }
    return picks;
  };
  EXPECT_EQ(run(3), run(3));
  EXPECT_NE(run(3), run(4));
}

TEST(Scheduler, ATaskFailsForGoodAfterMaxAttempts) {
  auto s = make("round_robin");  // max_attempts 3
  s->on_worker_joined(0, worker("a"));
  s->on_job_submitted(0, independent(1));
  for (int attempt = 1; attempt <= 3; ++attempt) {
    const auto cmds = drain(*s);
    ASSERT_EQ(cmds.size(), 1u) << attempt;
    EXPECT_EQ(s->failure_is_final(0), attempt == 3);
    s->on_task_failed(attempt, 0, 0);
  }
  EXPECT_TRUE(drain(*s).empty());
  EXPECT_EQ(s->table().tasks[0].state, TaskState::kFailed);
  EXPECT_EQ(s->tasks_unfinished(), 0u);
  EXPECT_EQ(s->tasks_retried(), 2u);
}

TEST(Scheduler, RecoveryReplaysThenLetsWorkersClaimBeforeDispatching) {
  // What a new leader does: replay the journal, hold dispatches for a grace period while
  // workers reconnect and claim what they still run, then queue the unclaimed rest.
  auto s = make("round_robin");
  s->on_job_submitted(0, independent(4));
  s->restore_finished(0, 0.5, 1.0, 1);
  s->begin_recovery(10.0, 2.0);
  EXPECT_EQ(s->next_wakeup(), 12.0);
  s->on_worker_joined(10.5, worker("a"), {1, 0});  // runs 1; 0 was already recorded
  auto cmds = drain(*s);
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].kind, Command::Kind::kCancel);
  EXPECT_EQ(cmds[0].task, 0u);
  EXPECT_EQ(s->table().tasks[1].state, TaskState::kRunning);
  EXPECT_EQ(s->table().tasks[2].state, TaskState::kPending);  // held
  s->on_tick(12.0);
  cmds = drain(*s);
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0].task, 2u);
  EXPECT_EQ(cmds[1].task, 3u);
  EXPECT_EQ(s->next_wakeup(), kNever);
  s->on_task_finished(13, 1, 0, 10.5);
  s->on_task_finished(14, 0, 0, 10.5);  // a completion recorded before the crash: ignored
  EXPECT_EQ(s->table().tasks[0].end, 1.0);
  EXPECT_EQ(s->tasks_unfinished(), 2u);
}

TEST(Scheduler, ACancelledPendingTaskIsNeverDispatched) {
  auto s = make("round_robin", /*queue_cap=*/0);
  s->on_worker_joined(0, worker("a"));
  s->on_job_submitted(0, independent(1));
  s->on_job_submitted(0, independent(2));  // job 1 waits centrally
  drain(*s);
  s->on_job_cancelled(1, 1);
  EXPECT_TRUE(drain(*s).empty());
  s->on_task_finished(2, 0, 0, 0);
  EXPECT_TRUE(drain(*s).empty());
  EXPECT_EQ(s->tasks_unfinished(), 0u);
}

std::unique_ptr<Scheduler> make_with(SchedulerConfig config, const std::string& policy = "round_robin") {
  auto p = make_policy(policy);
  EXPECT_TRUE(p.ok());
  return std::make_unique<Scheduler>(config, std::move(*p));
}

std::vector<Notice> notices(Scheduler& s) {
  std::vector<Notice> out;
  s.take_notices(out);
  return out;
}

bool has(const std::vector<Notice>& ns, Notice::Kind kind, WorkerId w) {
  return std::any_of(ns.begin(), ns.end(), [&](const Notice& n) { return n.kind == kind && n.worker == w; });
}

TEST(FailureDetector, SilenceMakesAWorkerSuspectedThenDeadAndItsTasksMove) {
  SchedulerConfig c;
  c.suspect_after = 2;
  c.dead_after = 5;
  c.detector_period = 1;
  auto s = make_with(c);
  s->on_worker_joined(0, worker("a"));
  s->on_worker_joined(0, worker("b"));
  s->on_job_submitted(0, independent(2));  // a: 0, b: 1
  drain(*s);
  for (Time t = 1; t <= 6; t += 1) {
    s->on_heartbeat(t, 1);  // b keeps talking; a has gone silent
    EXPECT_EQ(s->next_wakeup(), t);
    s->on_tick(t);
    if (t == 2) {
      const auto ns = notices(*s);
      EXPECT_TRUE(has(ns, Notice::Kind::kWorkerSuspected, 0));
      EXPECT_FALSE(s->cluster().is_eligible(0));
      EXPECT_TRUE(s->cluster().worker(0).alive);
    }
  }
  const auto ns = notices(*s);
  ASSERT_TRUE(has(ns, Notice::Kind::kWorkerDead, 0));
  EXPECT_TRUE(std::find_if(ns.begin(), ns.end(), [](const Notice& n) { return n.alert; }) != ns.end());
  EXPECT_FALSE(s->cluster().worker(0).alive);
  const auto cmds = drain(*s);
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].task, 0u);
  EXPECT_EQ(cmds[0].worker, 1u);
  // Its late report is not recorded; the second attempt's is, once.
  s->on_task_finished(6.5, 0, 0, 0);
  EXPECT_EQ(s->table().tasks[0].state, TaskState::kQueued);
  s->on_task_finished(7, 1, 1, 0);
  s->on_task_finished(8, 0, 1, 7);
  EXPECT_EQ(s->table().tasks[0].state, TaskState::kFinished);
  EXPECT_TRUE(has(notices(*s), Notice::Kind::kWorkRecovered, 0));
}

TEST(FailureDetector, ASuspectedWorkerHeardAgainGetsWorkAgain) {
  SchedulerConfig c;
  c.suspect_after = 2;
  c.dead_after = 10;
  auto s = make_with(c);
  s->on_worker_joined(0, worker("a"));
  s->on_tick(1);
  s->on_tick(2);
  EXPECT_FALSE(s->cluster().is_eligible(0));
  s->on_job_submitted(2.5, independent(1));
  EXPECT_TRUE(drain(*s).empty());
  s->on_heartbeat(3, 0);
  EXPECT_EQ(drain(*s).size(), 1u);
  EXPECT_TRUE(has(notices(*s), Notice::Kind::kWorkerAlive, 0));
}

TEST(Retries, FailedAttemptsBackOffExponentially) {
  SchedulerConfig c;
  c.retry_backoff = 1;
  c.max_attempts = 4;
  auto s = make_with(c);
  s->on_worker_joined(0, worker("a"));
  s->on_job_submitted(0, independent(1));
  drain(*s);
  s->on_task_failed(10, 0, 0);
  EXPECT_TRUE(drain(*s).empty());
  EXPECT_EQ(s->next_wakeup(), 11);
  s->on_tick(11);
  EXPECT_EQ(drain(*s).size(), 1u);
  s->on_task_failed(12, 0, 0);
  EXPECT_EQ(s->next_wakeup(), 14);  // 2 s the second time
  s->on_tick(13.9);
  EXPECT_TRUE(drain(*s).empty());
  s->on_tick(14);
  EXPECT_EQ(drain(*s).size(), 1u);
}

TEST(Retries, ARunningAttemptOlderThanTheTimeoutIsCancelledAndRetried) {
  SchedulerConfig c;
  c.task_timeout = 5;
  auto s = make_with(c);
  s->on_worker_joined(0, worker("a"));
  s->on_worker_joined(0, worker("b"));
  s->on_job_submitted(0, independent(1));
  drain(*s);
  s->on_task_started(0.5, 0, 0);
  for (Time t = 1; t <= 6; t += 1) {
    s->on_heartbeat(t, 0);
    s->on_tick(t);
  }
  const auto cmds = drain(*s);
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0].kind, Command::Kind::kCancel);
  EXPECT_EQ(cmds[0].worker, 0u);
  EXPECT_EQ(cmds[1].kind, Command::Kind::kDispatch);
  EXPECT_EQ(s->table().tasks[0].attempts, 2u);
  EXPECT_TRUE(has(notices(*s), Notice::Kind::kTaskTimedOut, 0));
  EXPECT_DOUBLE_EQ(s->wasted_work(), 5.5);
}

TEST(Quarantine, AWorkerThatFailsRepeatedlyIsBenchedForAWhile) {
  SchedulerConfig c;
  c.quarantine_after = 2;
  c.quarantine_window = 10;
  c.quarantine_for = 30;
  c.max_attempts = 10;
  auto s = make_with(c);
  s->on_worker_joined(0, worker("flaky"));
  s->on_worker_joined(0, worker("good"));
  s->on_job_submitted(0, independent(1));
  drain(*s);
  s->on_task_failed(1, 0, 0);  // retried on good
  drain(*s);
  s->on_job_submitted(2, independent(1));
  auto cmds = drain(*s);
  ASSERT_EQ(cmds.size(), 1u);
  ASSERT_EQ(cmds[0].worker, 0u);
  s->on_task_failed(3, 1, 0);
  EXPECT_TRUE(has(notices(*s), Notice::Kind::kWorkerQuarantined, 0));
  EXPECT_FALSE(s->cluster().is_eligible(0));
  s->on_tick(33);
  EXPECT_TRUE(has(notices(*s), Notice::Kind::kWorkerReleased, 0));
  EXPECT_TRUE(s->cluster().is_eligible(0));
}

TEST(Alerts, BacklogOverThresholdRaisesAndClears) {
  SchedulerConfig c;
  c.backlog_alert = 3;
  c.queue_cap = 0;
  auto s = make_with(c);
  s->on_worker_joined(0, worker("a"));
  s->on_job_submitted(0, independent(4));  // 1 runs, 3 wait
  auto ns = notices(*s);
  ASSERT_EQ(ns.size(), 1u);
  EXPECT_EQ(ns[0].kind, Notice::Kind::kBacklogHigh);
  EXPECT_TRUE(ns[0].alert);
  drain(*s);
  s->on_task_finished(1, 0, 0, 0);
  EXPECT_EQ(notices(*s).at(0).kind, Notice::Kind::kBacklogCleared);
}

}  // namespace
// kWorkRecovered names the dead worker once every task it held is terminal: finished,
// failed for good, or cancelled.
std::vector<WorkerId> recovered(Scheduler& s) {
  std::vector<WorkerId> out;
  for (const Notice& n : notices(s)) {
    if (n.kind == Notice::Kind::kWorkRecovered) out.push_back(n.worker);
  }
  return out;
}

TEST(Recovery, ACancelledJobCompletesTheRecoveryOfTheWorkerThatLostIt) {
  auto s = make("round_robin");
  s->on_worker_joined(0, worker("a"));
  s->on_worker_joined(0, worker("b"));
  s->on_job_submitted(0, independent(1));
  drain(*s);
  s->on_worker_left(1.0, 0);  // the task moves to b
  drain(*s);
  EXPECT_TRUE(recovered(*s).empty());
  s->on_job_cancelled(2.0, 0);
  EXPECT_EQ(recovered(*s), std::vector<WorkerId>{0});
}

TEST(Recovery, ATaskLostTwiceCountsForBothWorkersThatLostIt) {
  auto s = make("round_robin");
  s->on_worker_joined(0, worker("a"));
  s->on_worker_joined(0, worker("b"));
  s->on_worker_joined(0, worker("c"));
  s->on_job_submitted(0, independent(1));
  drain(*s);
  ASSERT_EQ(s->table().tasks[0].worker, 0u);
  s->on_worker_left(1.0, 0);
  drain(*s);
  const WorkerId second = s->table().tasks[0].worker;
  ASSERT_NE(second, 0u);
  s->on_worker_left(2.0, second);
  drain(*s);
  const WorkerId third = s->table().tasks[0].worker;
  ASSERT_NE(third, second);
  EXPECT_TRUE(recovered(*s).empty());
  s->on_task_finished(3.0, 0, third, 2.5);
  auto both = recovered(*s);
  std::sort(both.begin(), both.end());
  EXPECT_EQ(both, (std::vector<WorkerId>{0, second}));
}

}  // namespace fulcrum
