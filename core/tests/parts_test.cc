// The scheduler's parts, each alone: the failure detector, retries with backoff,
// quarantine, recovery tracking, the load account and the queue discipline.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/failure_detector.h"
#include "core/job_spec.h"
#include "core/load_account.h"
#include "core/quarantine.h"
#include "core/local_queue.h"
#include "core/queue_discipline.h"
#include "core/recovery_tracker.h"
#include "core/retry_backoff.h"
#include "core/scheduler.h"

namespace fulcrum {
namespace {

Worker heard_at(Time t, bool suspected = false) {
  Worker w;
  w.last_heard = t;
  w.suspected = suspected;
  return w;
}

TEST(FailureDetector, SuspectsThenDeclaresDeadOnSilence) {
  FailureDetector d({/*suspect_after=*/2, /*dead_after=*/5, /*period=*/1, /*task_timeout=*/0});
  EXPECT_TRUE(d.watching());
  EXPECT_EQ(d.judge(11.9, heard_at(10)), FailureDetector::Verdict::kAlive);
  EXPECT_EQ(d.judge(12, heard_at(10)), FailureDetector::Verdict::kSuspect);
  // Already suspected: nothing new until it is dead.
  EXPECT_EQ(d.judge(14, heard_at(10, /*suspected=*/true)), FailureDetector::Verdict::kAlive);
  EXPECT_EQ(d.judge(15, heard_at(10, /*suspected=*/true)), FailureDetector::Verdict::kDead);
  EXPECT_EQ(d.judge(15, heard_at(10)), FailureDetector::Verdict::kDead);
}

TEST(FailureDetector, ChecksStartWhenArmedAndComeEveryPeriod) {
  FailureDetector d({0, 3, 0.5, 0});
  EXPECT_EQ(d.next_check(), kNever);
  EXPECT_FALSE(d.due(100));
  d.arm(10);
  d.arm(10.2);  // already armed: unchanged
  EXPECT_EQ(d.next_check(), 10.5);
  EXPECT_FALSE(d.due(10.4));
  EXPECT_TRUE(d.due(10.5));
  d.checked(10.5);
  EXPECT_EQ(d.next_check(), 11);
}

TEST(FailureDetector, ThresholdsOfZeroAreOff) {
  FailureDetector off({0, 0, 1, 0});
  EXPECT_FALSE(off.watching());
  EXPECT_EQ(off.judge(1e9, heard_at(0)), FailureDetector::Verdict::kAlive);
  EXPECT_FALSE(off.timed_out(1e9, 0));
  FailureDetector timeouts({0, 0, 1, 30});
  EXPECT_TRUE(timeouts.watching());
  EXPECT_FALSE(timeouts.timed_out(29.9, 0));
  EXPECT_TRUE(timeouts.timed_out(40, 10));
  EXPECT_FALSE(timeouts.timed_out(100, -1));  // never started: nothing to time out
}

TEST(RetryBackoff, DoublesPerFailureAndReleasesInOrder) {
  RetryBackoff r(0.5);
  EXPECT_EQ(r.failed(7), 0.5);
  EXPECT_EQ(r.failed(7), 1.0);
  EXPECT_EQ(r.failed(7), 2.0);
  EXPECT_EQ(r.failed(3), 0.5);
  EXPECT_EQ(r.failures(7), 3u);
  EXPECT_EQ(r.failures(99), 0u);
  r.hold(1, 5);
  r.hold(2, 4);
  r.hold(3, 5);
  EXPECT_EQ(r.next_release(), 4);
  std::vector<TaskId> due;
  r.release(3.9, due);
  EXPECT_TRUE(due.empty());
  r.release(5, due);
  EXPECT_EQ(due, (std::vector<TaskId>{2, 1, 3}));  // by time, then in the order held
  EXPECT_EQ(r.next_release(), kNever);
  EXPECT_EQ(r.held(), 0u);
}

TEST(RetryBackoff, ZeroBaseRetriesAtOnce) {
  RetryBackoff r(0);
  EXPECT_EQ(r.failed(0), 0);
  EXPECT_EQ(r.failed(0), 0);
  EXPECT_EQ(r.failures(0), 2u);
}

TEST(Quarantine, BenchesAfterNFailuresWithinTheWindow) {
  Quarantine q({/*after=*/3, /*window=*/10, /*duration=*/60});
  EXPECT_FALSE(q.failed(0, "a", 0, true));
  EXPECT_FALSE(q.failed(5, "a", 0, true));
  EXPECT_FALSE(q.failed(5, "b", 1, true));  // another host's failures do not count
  // The failure at 0 left the window: two within it.
  EXPECT_FALSE(q.failed(10.5, "a", 0, true));
  EXPECT_TRUE(q.failed(12, "a", 0, true));
  EXPECT_TRUE(q.release(71.9).empty());
  EXPECT_EQ(q.release(72), std::vector<WorkerId>{0});
  EXPECT_TRUE(q.release(1000).empty());
}

TEST(Quarantine, HistoryFollowsTheNameAndAnUnbenchableWorkerKeepsIt) {
  Quarantine q({2, 100, 30});
  EXPECT_FALSE(q.failed(1, "a", 0, true));
  // Dead (not benchable): not benched, but the failure counts for its name.
  EXPECT_FALSE(q.failed(2, "a", 0, false));
  // It rejoined as worker 4: its name's history goes on.
  EXPECT_TRUE(q.failed(3, "a", 4, true));
  q.forget(4);  // died while benched
  EXPECT_TRUE(q.release(1000).empty());
  Quarantine never({0, 100, 30});
  EXPECT_FALSE(never.enabled());
  EXPECT_FALSE(never.failed(1, "a", 0, true));
  EXPECT_FALSE(never.failed(1, "a", 0, true));
}

TEST(RecoveryTracker, AWorkerRecoversWhenAllItLostHasEnded) {
  RecoveryTracker r;
  r.lost(0, {});  // nothing lost: no group
  EXPECT_TRUE(r.idle());
  r.lost(1, {10, 11});
  std::vector<WorkerId> recovered;
  r.ended(10, recovered);
  EXPECT_TRUE(recovered.empty());
  r.ended(99, recovered);  // not lost by anyone
  EXPECT_TRUE(recovered.empty());
  r.ended(11, recovered);
  EXPECT_EQ(recovered, std::vector<WorkerId>{1});
  EXPECT_TRUE(r.idle());
}

TEST(RecoveryTracker, ATaskLostTwiceClosesBothGroups) {
  RecoveryTracker r;
  r.lost(1, {5, 6});
  r.lost(2, {5});  // 5 was lost again by its next worker
  std::vector<WorkerId> recovered;
  r.ended(6, recovered);
  EXPECT_TRUE(recovered.empty());
  r.ended(5, recovered);
  EXPECT_EQ(recovered, (std::vector<WorkerId>{1, 2}));
  EXPECT_TRUE(r.idle());
}

TEST(LoadAccount, SumsTheSharesOfWorkersInService) {
  LoadAccount a;
  Worker w;
  w.spec.slots = 4;
  w.in_system = 6;
  a.update(0, w);
  Worker v;
  v.spec.slots = 2;
  v.in_system = 1;
  a.update(1, v);
  EXPECT_EQ(a.slots(), 6);
  EXPECT_EQ(a.tasks(), 7);
  EXPECT_EQ(a.busy(), 5);  // min(tasks, slots) per worker
  EXPECT_EQ(a.in_service(), 2u);
  w.draining = true;  // a draining worker is out of service: its share goes
  a.update(0, w);
  EXPECT_EQ(a.slots(), 2);
  EXPECT_EQ(a.tasks(), 1);
  EXPECT_EQ(a.busy(), 1);
  EXPECT_EQ(a.in_service(), 1u);
  v.alive = false;
  a.update(1, v);
  EXPECT_EQ(a.slots(), 0);
  EXPECT_EQ(a.in_service(), 0u);
}

std::vector<TaskId> drain(QueueDiscipline& q) {
  std::vector<TaskId> order;
  q.new_pass();
  while (q.has_front()) {
    order.push_back(q.front());
    q.pop_front();
  }
  EXPECT_TRUE(q.empty());
  return order;
}

TEST(PriorityFifo, HighestPriorityFirstFifoAmongEqualsReturnedAhead) {
  PriorityFifo q;
  q.push(1, 0, false, 0);
  q.push(2, 5, false, 0);
  q.push(3, 0, false, 0);
  q.push(4, 0, /*returned=*/true, 0);
  q.push(5, 0, /*returned=*/true, 0);
  EXPECT_EQ(q.size(), 5u);
  // The last returned goes first among its equals (the scheduler pushes a batch backwards).
  EXPECT_EQ(drain(q), (std::vector<TaskId>{2, 5, 4, 1, 3}));
}

TEST(PriorityFifo, ReprioritiseKeepsTheOrderAmongEquals) {
  PriorityFifo q;
  for (TaskId t = 0; t < 6; ++t) q.push(t, static_cast<double>(t), false, 0);
  q.reprioritise([](TaskId t) { return t % 2 ? 1.0 : 0.0; });
  EXPECT_EQ(drain(q), (std::vector<TaskId>{1, 3, 5, 0, 2, 4}));
}

// Strict order: a front that cannot be placed ends the pass.
TEST(PriorityFifo, ASkippedFrontEndsThePass) {
  PriorityFifo q;
  q.push(1, 0, false, 0);
  q.push(2, 0, false, 1);
  q.new_pass();
  ASSERT_TRUE(q.has_front());
  q.skip_front();
  EXPECT_FALSE(q.has_front());
  q.new_pass();
  EXPECT_EQ(q.front(), 1u);
}

// Skip-ahead keeps one order across shapes; skipping a shape lets the next shape's tasks
// go, never its own.
TEST(SkipAhead, OneOrderAcrossShapesAndASkippedShapeWaits) {
  SkipAhead q;
  q.push(1, 0, false, /*shape=*/0);
  q.push(2, 0, false, 1);
  q.push(3, 0, false, 0);
  q.push(4, 0, false, 2);
  q.push(5, 9, false, 2);
  q.push(6, 0, /*returned=*/true, 1);
  EXPECT_EQ(q.size(), 6u);
  // The same order as strict: priority, returned, then arrival.
  SkipAhead copy = q;
  EXPECT_EQ(drain(copy), (std::vector<TaskId>{5, 6, 1, 2, 3, 4}));
  q.new_pass();
  EXPECT_EQ(q.front(), 5u);
  q.pop_front();
  EXPECT_EQ(q.front(), 6u);
  q.skip_front();  // shape 1 cannot be placed: 2 waits too
  EXPECT_EQ(q.front(), 1u);
  q.pop_front();
  EXPECT_EQ(q.front(), 3u);
  q.skip_front();  // shape 0 now
  EXPECT_EQ(q.front(), 4u);
  q.pop_front();
  EXPECT_FALSE(q.has_front());
  EXPECT_EQ(q.size(), 3u);
  q.new_pass();
  EXPECT_EQ(q.front(), 6u);
}

// A failed attempt waiting out its backoff is in a state of its own, not pending.
TEST(SchedulerStates, AFailedAttemptWaitsInBackoffThenIsPendingAgain) {
  class First final : public Policy {
   public:
    std::string name() const override { return "first"; }
    std::optional<WorkerId> pick(const ClusterState& c, const Task&, Rng&) override {
      return c.eligible().empty() ? std::nullopt : std::optional<WorkerId>(c.eligible().front());
    }
  };
  SchedulerConfig config;
  config.retry_backoff = 2;
  config.queue_cap = 0;  // late binding: a task waits centrally until a slot is free
  Scheduler s(config, std::make_unique<First>());
  const WorkerId w = s.on_worker_joined(0, WorkerSpec{"a", "", 1e9, 1, 0});
  JobSpec job;
  job.tasks.resize(2);
  s.on_job_submitted(0, job);
  ASSERT_EQ(s.table().tasks[0].state, TaskState::kQueued);
  ASSERT_EQ(s.table().tasks[1].state, TaskState::kPending);
  s.on_task_failed(1, 0, w);
  EXPECT_EQ(s.table().tasks[0].state, TaskState::kBackoff);
  EXPECT_EQ(s.table().tasks[1].state, TaskState::kQueued);  // the slot went to the next task
  EXPECT_EQ(s.next_wakeup(), 3);
  s.on_tick(3);
  EXPECT_EQ(s.table().tasks[0].state, TaskState::kPending);  // back, waiting for the slot
  s.on_task_finished(4, 1, w, 1);
  EXPECT_EQ(s.table().tasks[0].state, TaskState::kQueued);
  EXPECT_EQ(s.table().tasks[0].attempts, 2u);
}

// The worker-side rule: the head starts when its whole request fits what is free, in
// every dimension, and holds those behind it until then.
TEST(LocalQueue, StartsTheHeadWhileItFitsInEveryDimension) {
  Resources capacity{.cores = 4, .memory = 3e9, .gpus = 1};
  LocalQueue q(capacity);
  Resources one_gib{.cores = 0.5, .memory = 1e9};
  for (TaskId t = 0; t < 4; ++t) q.push(t, one_gib);
  std::vector<TaskId> started;
  q.start_ready(started);
  // Cores leave room for eight; memory for three, and no memory free is none.
  EXPECT_EQ(started, (std::vector<TaskId>{0, 1, 2}));
  EXPECT_EQ(q.waiting(), 1u);
  EXPECT_EQ(q.free().memory, 0);
  EXPECT_TRUE(q.finished(1));
  started.clear();
  q.start_ready(started);
  EXPECT_EQ(started, (std::vector<TaskId>{3}));
  EXPECT_FALSE(q.finished(1)) << "a task ends once";
}

TEST(LocalQueue, AHeadThatDoesNotFitHoldsTheRestAndMemoryZeroIsNotLimited) {
  LocalQueue q(Resources{.cores = 2});
  EXPECT_EQ(q.misfit(Resources{.cores = 1, .memory = 1e12}), "") << "memory 0: not limited";
  EXPECT_EQ(q.misfit(Resources{.cores = 1, .gpus = 1}), "gpus");
  EXPECT_EQ(q.misfit(Resources{.cores = 1, .other = {{"licence", 1}}}), "licence");
  q.push(0, Resources{.cores = 1});
  q.push(1, Resources{.cores = 2});
  q.push(2, Resources{.cores = 1});
  std::vector<TaskId> started;
  q.start_ready(started);
  EXPECT_EQ(started, (std::vector<TaskId>{0})) << "strict FIFO: 2 waits behind 1";
  EXPECT_TRUE(q.remove(1));
  started.clear();
  q.start_ready(started);
  EXPECT_EQ(started, (std::vector<TaskId>{2}));
}

// A submission is checked before the core sees it: a request amount that is negative,
// NaN or infinite would corrupt every sum of free capacity.
TEST(CheckJobSpec, RefusesBadRequestAmountsNamingTaskAndDimension) {
  JobSpec job;
  job.tasks.resize(2);
  EXPECT_TRUE(check_job_spec(job));
  job.tasks[1].request.memory = -1;
  auto bad = check_job_spec(job);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "task 1: request memory must be a finite number >= 0");
  job.tasks[1].request.memory = 0;
  job.tasks[0].request.other["licence"] = std::nan("");
  bad = check_job_spec(job);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "task 0: request licence must be a finite number >= 0");
  job.tasks[0].request.other["licence"] = 0;
  job.tasks[0].request.cores = INFINITY;
  EXPECT_FALSE(check_job_spec(job));
}

}  // namespace
}  // namespace fulcrum
