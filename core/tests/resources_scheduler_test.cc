// The scheduler's decisions with resource requests, labels and spread (issue 16): a task
// that fits no worker is refused at submission with the task and the dimension named; the
// queue discipline decides whether a task that cannot start now holds those behind it;
// spread overrides the policy's pick to keep a job's tasks apart; a packing scorer binds
// a task only where it can start.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/scheduler.h"
#include "policies/registry.h"

namespace fulcrum {
namespace {

constexpr double kGiB = 1024.0 * 1024 * 1024;

std::unique_ptr<Scheduler> make(const std::string& policy, int queue_cap,
                                SchedulerConfig::Discipline discipline = SchedulerConfig::Discipline::kStrict,
                                std::vector<WorkerSpec> described = {}) {
  auto p = make_policy(policy);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error());
  SchedulerConfig config{/*seed=*/1, queue_cap, /*epoch=*/1};
  config.discipline = discipline;
  config.described = std::move(described);
  return std::make_unique<Scheduler>(config, std::move(*p));
}

WorkerSpec host(const std::string& name, int cores, double memory = 0, double gpus = 0,
                std::map<std::string, std::string> labels = {}, std::string zone = "") {
  WorkerSpec w{name, "g", 1e9, cores, 0};
  w.resources.memory = memory;
  w.resources.gpus = gpus;
  w.labels = std::move(labels);
  w.zone = std::move(zone);
  return w;
}

TaskSpec task(double cores, double memory = 0, double gpus = 0) {
  TaskSpec t{1e9, {}};
  t.request.cores = cores;
  t.request.memory = memory;
  t.request.gpus = gpus;
  return t;
}

std::vector<Command> drain(Scheduler& s) {
  std::vector<Command> out;
  s.take_commands(out);
  return out;
}
std::vector<Notice> notices(Scheduler& s) {
  std::vector<Notice> out;
  s.take_notices(out);
  return out;
}

// --- unschedulable ---

TEST(Unschedulable, ATaskLargerThanEveryWorkerIsRefusedNamingTheTaskAndTheDimension) {
  auto s = make("jsq", -1);
  s->on_worker_joined(0, host("a", 4, 8 * kGiB));
  s->on_worker_joined(0, host("b", 2, 16 * kGiB));
  JobSpec job;
  job.tasks = {task(1, kGiB), task(2, 32 * kGiB)};
  job.tasks[1].name = "big";
  const std::string why = s->unschedulable(job);
  EXPECT_NE(why.find("task 1 ('big')"), std::string::npos) << why;
  EXPECT_NE(why.find("memory"), std::string::npos) << why;
  // Each dimension on its own fits some worker; together they fit none.
  JobSpec both;
  both.tasks = {task(4, 16 * kGiB)};
  EXPECT_NE(s->unschedulable(both).find("no single worker"), std::string::npos) << s->unschedulable(both);

  // Submitted anyway (the simulator submits; real mode refuses the Submit): the task
  // fails at once, the job's other task is cancelled, nothing is dispatched, and it counts.
  s->on_job_submitted(1, job);
  EXPECT_TRUE(drain(*s).empty());
  EXPECT_EQ(s->table().tasks[1].state, TaskState::kFailed);
  EXPECT_EQ(s->table().tasks[0].state, TaskState::kCancelled);
  EXPECT_EQ(s->tasks_unschedulable(), 1u);
  EXPECT_EQ(s->tasks_unfinished(), 0u);
  bool noticed = false;
  for (const Notice& n : notices(*s)) noticed |= n.kind == Notice::Kind::kTaskUnschedulable && n.task == 1 && n.alert;
  EXPECT_TRUE(noticed);
}

TEST(Unschedulable, AMissingLabelIsNamedAndAFittingTaskIsNotRefused) {
  auto s = make("jsq", -1);
  s->on_worker_joined(0, host("a", 4, 0, 0, {{"disk", "hdd"}}, "east"));
  JobSpec job;
  job.tasks = {task(1)};
  job.tasks[0].require = {{"disk", "ssd"}};
  EXPECT_NE(s->unschedulable(job).find("no worker has disk=ssd"), std::string::npos) << s->unschedulable(job);
  job.tasks[0].require = {{"zone", "west"}};
  EXPECT_NE(s->unschedulable(job).find("zone=west"), std::string::npos) << s->unschedulable(job);
  job.tasks[0].require = {{"disk", "hdd"}, {"zone", "east"}};
  EXPECT_EQ(s->unschedulable(job), "");
  // Memory 0 on a worker is not limited: any memory request fits it.
  job.tasks[0].request.memory = 1e15;
  EXPECT_EQ(s->unschedulable(job), "");
}

TEST(Unschedulable, DescribedWorkersCountAndWithNoWorkerNothingIsRefused) {
  JobSpec gpu_job;
  gpu_job.tasks = {task(1, 0, 1)};
  auto empty = make("jsq", -1);
  EXPECT_EQ(empty->unschedulable(gpu_job), "");  // nothing to judge by: it waits

  // A standby GPU host the autoscaler may start makes the task schedulable although no
  // joined worker has a GPU; without it the task is refused.
  auto with_standby = make("jsq", -1, SchedulerConfig::Discipline::kStrict, {host("standby", 2, 0, 1)});
  with_standby->on_worker_joined(0, host("cpu", 8));
  EXPECT_EQ(with_standby->unschedulable(gpu_job), "");
  auto without = make("jsq", -1);
  without->on_worker_joined(0, host("cpu", 8));
  EXPECT_NE(without->unschedulable(gpu_job).find("gpus"), std::string::npos);
}

// --- queue discipline ---

// One 4-core host, late binding: a 3-core task runs, a 2-core task cannot start, a
// 1-core task behind it could. Strict order holds it; skip-ahead lets it go.
TEST(Discipline, StrictHoldsTheLineSkipAheadLetsAFittingTaskGo) {
  for (const auto discipline : {SchedulerConfig::Discipline::kStrict, SchedulerConfig::Discipline::kSkipAhead}) {
    auto s = make("jsq", /*queue_cap=*/0, discipline);
    s->on_worker_joined(0, host("a", 4));
    JobSpec job;
    job.tasks = {task(3), task(2), task(1)};
    s->on_job_submitted(0, job);
    std::set<TaskId> sent;
    for (const Command& c : drain(*s)) sent.insert(c.task);
    if (discipline == SchedulerConfig::Discipline::kStrict) {
      EXPECT_EQ(sent, (std::set<TaskId>{0}));
    } else {
      EXPECT_EQ(sent, (std::set<TaskId>{0, 2}));
    }
    // The 3-core task ends: the 2-core task goes in both (and the 1-core one in strict).
    s->on_task_finished(1, 0, 0, 0);
    std::set<TaskId> then;
    for (const Command& c : drain(*s)) then.insert(c.task);
    if (discipline == SchedulerConfig::Discipline::kStrict) {
      EXPECT_EQ(then, (std::set<TaskId>{1, 2}));
    } else {
      EXPECT_EQ(then, (std::set<TaskId>{1}));
    }
  }
}

// --- spread ---

TEST(Spread, AJobsTasksGoToDifferentHostsThoughThePolicyWouldStackThem) {
  auto s = make("first_fit", -1);
  for (const char* name : {"a", "b", "c"}) s->on_worker_joined(0, host(name, 8));
  JobSpec job;
  job.tasks = {task(1), task(1), task(1)};
  for (TaskSpec& t : job.tasks) t.spread = Spread::kHost;
  s->on_job_submitted(0, job);
  std::set<WorkerId> hosts;
  for (const Command& c : drain(*s)) hosts.insert(c.worker);
  EXPECT_EQ(hosts.size(), 3u);
  // Without spread, first_fit stacks them on the first host.
  JobSpec plain;
  plain.tasks = {task(1), task(1), task(1)};
  s->on_job_submitted(0, plain);
  std::set<WorkerId> stacked;
  for (const Command& c : drain(*s)) stacked.insert(c.worker);
  EXPECT_EQ(stacked.size(), 1u);
}

TEST(Spread, ByZoneBalancesAJobAcrossZones) {
  auto s = make("first_fit", -1);
  s->on_worker_joined(0, host("e1", 8, 0, 0, {}, "east"));
  s->on_worker_joined(0, host("e2", 8, 0, 0, {}, "east"));
  s->on_worker_joined(0, host("w1", 8, 0, 0, {}, "west"));
  JobSpec job;
  job.tasks = {task(1), task(1), task(1), task(1)};
  for (TaskSpec& t : job.tasks) t.spread = Spread::kZone;
  s->on_job_submitted(0, job);
  std::map<std::string, int> per_zone;
  for (const Command& c : drain(*s)) ++per_zone[s->cluster().worker(c.worker).spec.zone];
  EXPECT_EQ(per_zone["east"], 2);
  EXPECT_EQ(per_zone["west"], 2);
}

// --- packing scorers in the scheduler ---

// Three 4-core hosts, eight one-core tasks: binpack fills two hosts and leaves the third
// empty; spread uses all three; a ninth task beyond what is free waits centrally (no local
// queue) and starts when a task ends.
TEST(Scorers, BinpackFillsHostsInTurnAndTasksWaitCentrallyForRoom) {
  for (const char* policy : {"binpack", "spread"}) {
    auto s = make(policy, -1);
    for (const char* name : {"a", "b", "c"}) s->on_worker_joined(0, host(name, 4));
    JobSpec job;
    for (int i = 0; i < 8; ++i) job.tasks.push_back(task(1));
    s->on_job_submitted(0, job);
    std::map<WorkerId, int> per_host;
    for (const Command& c : drain(*s)) ++per_host[c.worker];
    if (std::string(policy) == "binpack") {
      EXPECT_EQ(per_host.size(), 2u);
      for (const auto& [w, n] : per_host) EXPECT_EQ(n, 4) << w;
    } else {
      EXPECT_EQ(per_host.size(), 3u);
    }
  }
  auto s = make("binpack", -1);
  s->on_worker_joined(0, host("a", 2));
  JobSpec job;
  for (int i = 0; i < 3; ++i) job.tasks.push_back(task(1));
  s->on_job_submitted(0, job);
  EXPECT_EQ(drain(*s).size(), 2u);
  EXPECT_EQ(s->table().tasks[2].state, TaskState::kPending);
  s->on_task_finished(1, 0, 0, 0);
  const auto cmds = drain(*s);
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].task, 2u);
}

}  // namespace
}  // namespace fulcrum
