// Rigid jobs and backfilling in the core (issue 17), on hand-worked examples: who starts
// when, and why. Each cluster is 1-core hosts unless said otherwise, jobs are gangs of
// 1-core tasks, and time runs exactly (core/tests/rigid_replay.h): at an instant,
// completions, then arrivals, then one pass.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/tests/rigid_replay.h"
#include "policies/registry.h"

namespace fulcrum {
namespace {

using testing::replay_rigid;
using testing::RigidJob;
using testing::RigidStart;

SchedulerConfig with(SchedulerConfig::Backfill backfill, bool sjf = false) {
  SchedulerConfig c;
  c.backfill = backfill;
  c.shortest_first = sjf;
  return c;
}
constexpr auto kNone = SchedulerConfig::Backfill::kNone;
constexpr auto kEasy = SchedulerConfig::Backfill::kEasy;
constexpr auto kConservative = SchedulerConfig::Backfill::kConservative;

std::vector<Time> starts(const std::vector<RigidStart>& r) {
  std::vector<Time> s;
  for (const RigidStart& x : r) s.push_back(x.start);
  return s;
}

// 4 processors. J0 (2 wide, 10 s) runs [0, 10). J1 (4 wide) cannot start at 1: its
// shadow time is 10 (J0's estimated end), when 4 are free, and nothing is left over
// (extra 0). J2 (2 wide, 5 s) arrives at 2: it ends at 7 <= 10, so it backfills at 2.
// J3 (1 wide, 20 s) at 3: 0 processors free now; it waits, and after J1 starts at 10
// there is none until J1 ends at 20.
TEST(Easy, AShortJobBackfillsInFrontOfABlockedWideHead) {
  const std::vector<RigidJob> jobs = {{0, 2, 10, 10}, {1, 4, 10, 10}, {2, 2, 5, 5}, {3, 1, 20, 20}};
  EXPECT_EQ(starts(replay_rigid(jobs, 4, 1, with(kEasy))), (std::vector<Time>{0, 10, 2, 20}));
  // FCFS: J2 may not overtake J1; it starts with J1's end (J1 takes all 4 at 10).
  EXPECT_EQ(starts(replay_rigid(jobs, 4, 1, with(kNone))), (std::vector<Time>{0, 10, 20, 20}));
}

// The same, but J2 runs 20 s: it would end at 22 > 10 and needs 2 > extra 0, so it
// must not backfill: it would delay J1.
TEST(Easy, AJobThatWouldDelayTheHeadDoesNotBackfill) {
  const std::vector<RigidJob> jobs = {{0, 2, 10, 10}, {1, 4, 10, 10}, {2, 2, 20, 20}};
  EXPECT_EQ(starts(replay_rigid(jobs, 4, 1, with(kEasy))), (std::vector<Time>{0, 10, 20}));
}

// 8 processors. J0 (4 wide) runs [0, 10). J1 (6 wide) is the head at 1: shadow 10, when
// 8 are free, so the extra is 8 - 6 = 2. J2 (2 wide, 100 s) at 2 outlives the shadow but
// needs only the extra: it starts, and uses the extra up. J3 (2 wide, 100 s) at 3: 2 are
// free now, but no extra is left: it waits. J4 (2 wide, 5 s) at 4 ends at 9 <= 10: it
// starts. At 10, J0 ended and J4 too: 6 free, J1 starts; J3 waits for 2 processors:
// J1's end at 20.
TEST(Easy, ALongJobWithinTheExtraBackfillsAndUsesItUp) {
  const std::vector<RigidJob> jobs = {
      {0, 4, 10, 10}, {1, 6, 10, 10}, {2, 2, 100, 100}, {3, 2, 100, 100}, {4, 2, 5, 5}};
  EXPECT_EQ(starts(replay_rigid(jobs, 8, 1, with(kEasy))), (std::vector<Time>{0, 10, 2, 20, 4}));
}

// 4 processors. J0 (3 wide) runs [0, 10). J1 (2 wide, 10 s) is the head at 1: shadow 10,
// extra 4 - 2 = 2. J2 (4 wide, 10 s) waits behind it. J3 (1 wide, 30 s) at 3: 1 free,
// outlives the shadow but fits the extra: EASY starts it at 3, which protects J1 (at 10,
// 3 are free) but not J2, which then needs all 4: it waits for J3's end at 33.
// Conservative reserves J1 at [10, 20) and J2 at [20, 30): J3 would overlap J2's
// reservation, so its earliest start is 30.
TEST(Easy, EasyAndConservativeDifferOnTheSecondWaitingJob) {
  const std::vector<RigidJob> jobs = {{0, 3, 10, 10}, {1, 2, 10, 10}, {2, 4, 10, 10}, {3, 1, 30, 30}};
  EXPECT_EQ(starts(replay_rigid(jobs, 4, 1, with(kEasy))), (std::vector<Time>{0, 10, 33, 3}));
  EXPECT_EQ(starts(replay_rigid(jobs, 4, 1, with(kConservative))), (std::vector<Time>{0, 10, 20, 30}));
}

// Estimates, not run times, make the reservation: J0 (2 wide) asks for 50 s and runs 10.
// J1 (4 wide) is the head at 1 with shadow 50; J2 (2 wide, 30 s) at 2 ends at 32 <= 50,
// so it backfills. J0 ends early, at 10: only 2 are free (J2 holds 2), and the shadow is
// now J2's end, 32, when J1 starts: before the 50 it was promised.
TEST(Easy, ReservationsFollowEstimatesAndJobsEndEarly) {
  const std::vector<RigidJob> jobs = {{0, 2, 10, 50}, {1, 4, 10, 10}, {2, 2, 30, 30}};
  EXPECT_EQ(starts(replay_rigid(jobs, 4, 1, with(kEasy))), (std::vector<Time>{0, 32, 2}));
}

// Completions are handled before arrivals at the same instant: J1 arrives at 10, when J0
// ends, and starts at 10.
TEST(Easy, ACompletionFreesRoomForAnArrivalAtTheSameInstant) {
  const std::vector<RigidJob> jobs = {{0, 4, 10, 10}, {10, 4, 5, 5}};
  for (auto b : {kNone, kEasy, kConservative}) {
    EXPECT_EQ(starts(replay_rigid(jobs, 4, 1, with(b))), (std::vector<Time>{0, 10}));
  }
}

// SJF orders the queue by estimate, then arrival: with 1 processor busy until 10, J1
// (estimate 30), J2 (estimate 5) and J3 (estimate 5, later) start 2, 3, 1 in that order.
TEST(Sjf, ShortestEstimateFirstThenArrival) {
  const std::vector<RigidJob> jobs = {{0, 1, 10, 10}, {1, 1, 30, 30}, {2, 1, 5, 5}, {3, 1, 5, 5}};
  EXPECT_EQ(starts(replay_rigid(jobs, 1, 1, with(kNone, /*sjf=*/true))), (std::vector<Time>{0, 20, 10, 15}));
  EXPECT_EQ(starts(replay_rigid(jobs, 1, 1, with(kNone))), (std::vector<Time>{0, 10, 40, 45}));
}

// --- gangs on real hosts ---

std::unique_ptr<Scheduler> make(SchedulerConfig config = {}) {
  config.queue_cap = 0;
  auto p = make_policy("jsq");
  return std::make_unique<Scheduler>(config, std::move(*p));
}

JobSpec gang(std::uint32_t width, double flops = 10) {
  JobSpec j;
  j.gang = true;
  j.tasks.assign(width, TaskSpec{flops, {}});
  return j;
}

std::vector<Command> drain(Scheduler& s) {
  std::vector<Command> out;
  s.take_commands(out);
  return out;
}
std::size_t count(const std::vector<Command>& cs, Command::Kind kind) {
  return static_cast<std::size_t>(std::count_if(cs.begin(), cs.end(), [&](const Command& c) { return c.kind == kind; }));
}

TEST(Gang, StartsAllAtOnceOrWaitsAndAWiderThanTheClusterGangIsRefused) {
  auto s = make();
  s->on_worker_joined(0, WorkerSpec{"a", "g", 1, 2, 0});
  s->on_worker_joined(0, WorkerSpec{"b", "g", 1, 2, 0});
  s->on_job_submitted(0, JobSpec{{TaskSpec{10, {}}}});  // one core taken
  EXPECT_EQ(count(drain(*s), Command::Kind::kDispatch), 1u);
  s->on_job_submitted(1, gang(4));  // 4 wide, 3 free: nothing starts, nothing is half-placed
  EXPECT_EQ(count(drain(*s), Command::Kind::kDispatch), 0u);
  EXPECT_EQ(s->cluster().worker(0).in_system + s->cluster().worker(1).in_system, 1u);
  s->on_task_finished(5, 0, s->table().tasks[0].worker, 0);
  const auto cs = drain(*s);
  EXPECT_EQ(count(cs, Command::Kind::kDispatch), 4u);
  for (TaskId t = 1; t <= 4; ++t) EXPECT_EQ(s->table().tasks[t].state, TaskState::kQueued);

  s->on_job_submitted(6, gang(5));
  EXPECT_EQ(s->tasks_unschedulable(), 5u);
  EXPECT_EQ(s->unschedulable(gang(5)),
            "the gang of 5 tasks fits no set of workers at once: cores: its tasks ask for 5 in all, the workers they "
            "fit have 4");
  EXPECT_EQ(s->unschedulable(gang(4)), "");
}

TEST(Gang, AMemberFailureStopsTheOthersAndRequeuesTheWholeGangOnce) {
  auto s = make();
  s->on_worker_joined(0, WorkerSpec{"a", "g", 1, 2, 0});
  s->on_worker_joined(0, WorkerSpec{"b", "g", 1, 2, 0});
  s->on_job_submitted(0, gang(3));
  drain(*s);
  for (TaskId t = 0; t < 3; ++t) s->on_task_started(1, t, s->table().tasks[t].worker);
  s->on_task_failed(2, 1, s->table().tasks[1].worker);
  const auto cs = drain(*s);
  EXPECT_EQ(count(cs, Command::Kind::kCancel), 2u);    // the two other members
  EXPECT_EQ(count(cs, Command::Kind::kDispatch), 3u);  // the gang again, whole
  for (TaskId t = 0; t < 3; ++t) {
    EXPECT_EQ(s->table().tasks[t].state, TaskState::kQueued);
    EXPECT_EQ(s->table().tasks[t].attempts, 2u);
  }
  // The host of two members dies: the third is stopped, and all three start again.
  const WorkerId dead = s->table().tasks[0].worker;
  s->on_worker_left(3, dead);
  drain(*s);
  for (TaskId t = 0; t < 3; ++t) EXPECT_NE(s->table().tasks[t].state, TaskState::kQueued) << "only 2 cores left";
  // Out of attempts: the gang fails whole.
  s->on_worker_joined(4, WorkerSpec{"c", "g", 1, 2, 0});
  drain(*s);
  for (TaskId t = 0; t < 3; ++t) ASSERT_EQ(s->table().tasks[t].state, TaskState::kQueued);
  s->on_task_failed(5, 2, s->table().tasks[2].worker);
  for (TaskId t = 0; t < 3; ++t) EXPECT_EQ(s->table().tasks[t].state, TaskState::kFailed);
  EXPECT_EQ(s->tasks_unfinished(), 0u);
}

// A member finished, then another's host dies: the finished one keeps its result and the
// gang's unfinished members run again together; nothing waits forever.
TEST(Gang, AFinishedMemberStaysFinishedAndTheRestRunAgainTogether) {
  auto s = make();
  s->on_worker_joined(0, WorkerSpec{"a", "g", 1, 1, 0});
  s->on_worker_joined(0, WorkerSpec{"b", "g", 1, 1, 0});
  s->on_worker_joined(0, WorkerSpec{"c", "g", 1, 1, 0});
  s->on_job_submitted(0, gang(3));
  drain(*s);
  for (TaskId t = 0; t < 3; ++t) s->on_task_started(1, t, s->table().tasks[t].worker);
  s->on_task_finished(2, 0, s->table().tasks[0].worker, 1);  // the leader's task ends first
  s->on_worker_left(3, s->table().tasks[1].worker);
  const auto cs = drain(*s);
  EXPECT_EQ(count(cs, Command::Kind::kCancel), 1u);    // task 2, still running
  EXPECT_EQ(count(cs, Command::Kind::kDispatch), 2u);  // tasks 1 and 2, together
  EXPECT_EQ(s->table().tasks[0].state, TaskState::kFinished);
  for (TaskId t = 1; t < 3; ++t) {
    EXPECT_EQ(s->table().tasks[t].state, TaskState::kQueued);
    EXPECT_EQ(s->table().tasks[t].attempts, 2u);
  }
  for (TaskId t = 1; t < 3; ++t) s->on_task_finished(5, t, s->table().tasks[t].worker, 4);
  EXPECT_EQ(s->tasks_unfinished(), 0u);
}

}  // namespace
}  // namespace fulcrum
