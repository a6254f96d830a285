// Per-dimension utilisation, fragmentation and tasks_unschedulable from hand-made records
// whose answers are worked out by hand in the comments (definitions: docs/results.md,
// "Resources").
#include <gtest/gtest.h>

#include <algorithm>

#include "results/metrics.h"
#include "results/table.h"

namespace fulcrum {
namespace {

TaskRecord task(TaskId id, Time submit, Time start, Time end, WorkerId w, double cores, double memory, double gpus = 0,
                TaskState state = TaskState::kFinished) {
  TaskRecord t{id, 0, 1e9, submit, start, start, end, w, 1, state};
  t.cores = cores;
  t.memory = memory;
  t.gpus = gpus;
  return t;
}

WorkerRecord worker(std::string name, int cores, double memory, double gpus = 0) {
  WorkerRecord w{std::move(name), "g", 1e9, cores};
  w.memory = memory;
  w.gpus = gpus;
  return w;
}

// a: 4 cores, 8 memory, 2 GPUs; b: 2 cores, memory not limited, no GPU. Makespan 10.
//   t0 on a: 2 cores, 4 memory, 1 GPU over [0, 10)
//   t1 on a: 1 core,  2 memory        over [5, 10)
//   t2 on b: 2 cores, 100 memory      over [0, 5)
// a: cores 2x10 + 1x5 = 25 core-s of 4x10 -> 0.625; memory 4x10 + 2x5 = 50 of 8x10 ->
//    0.625; GPUs 1x10 = 10 of 2x10 -> 0.5.
// b: cores 2x5 = 10 of 2x10 -> 0.5; memory not limited and no GPU -> 0.
// Pooled: cores 35 of 6x10; memory only over a (b does not limit it): 50 of 80; GPUs 10 of 20.
TEST(ResourceUtilisation, HandComputedPerWorkerAndPooled) {
  std::vector<TaskRecord> tasks{task(0, 0, 0, 10, 0, 2, 4, 1), task(1, 0, 5, 10, 0, 1, 2), task(2, 0, 0, 5, 1, 2, 100)};
  std::vector<WorkerRecord> workers{worker("a", 4, 8, 2), worker("b", 2, 0)};
  const Summary s = summarize(tasks, workers, 0);
  EXPECT_DOUBLE_EQ(s.makespan, 10);
  EXPECT_DOUBLE_EQ(workers[0].utilisation_cores, 0.625);
  EXPECT_DOUBLE_EQ(workers[0].utilisation_memory, 0.625);
  EXPECT_DOUBLE_EQ(workers[0].utilisation_gpus, 0.5);
  EXPECT_DOUBLE_EQ(workers[1].utilisation_cores, 0.5);
  EXPECT_EQ(workers[1].utilisation_memory, 0);
  EXPECT_EQ(workers[1].utilisation_gpus, 0);
  EXPECT_DOUBLE_EQ(s.utilisation_cores, 35.0 / 60.0);
  EXPECT_DOUBLE_EQ(s.utilisation_memory, 50.0 / 80.0);
  EXPECT_DOUBLE_EQ(s.utilisation_gpus, 0.5);
}

// Only finished tasks hold: a failed one's span and a lost one's start are not counted.
TEST(ResourceUtilisation, OnlyFinishedTasksCount) {
  std::vector<TaskRecord> tasks{task(0, 0, 0, 10, 0, 1, 0), task(1, 0, 0, 5, 0, 1, 0, 0, TaskState::kFailed),
                                task(2, 0, 2, -1, 0, 1, 0, 0, TaskState::kRunning)};
  std::vector<WorkerRecord> workers{worker("a", 2, 0)};
  const Summary s = summarize(tasks, workers, 0);
  EXPECT_DOUBLE_EQ(s.utilisation_cores, 10.0 / 20.0);
}

// A task's end is when the scheduler heard of it: a one-core host's next task may show up
// in the records before the last one's end. What the records show beyond the capacity is
// not counted: [0, 2.5) and [2, 4) on one core held it 4 s, not 4.5 s.
TEST(ResourceUtilisation, HeldIsCappedAtTheCapacity) {
  std::vector<TaskRecord> tasks{task(0, 0, 0, 2.5, 0, 1, 3, 1), task(1, 0, 2, 4, 0, 1, 3, 1)};
  std::vector<WorkerRecord> workers{worker("a", 1, 4, 1)};
  workers[0].busy_time = 4.5;
  const Summary s = summarize(tasks, workers, 0);
  EXPECT_DOUBLE_EQ(s.utilisation_cores, 1.0);
  EXPECT_DOUBLE_EQ(s.utilisation_gpus, 1.0);
  EXPECT_DOUBLE_EQ(s.utilisation_memory, (3 * 2 + 4 * 0.5 + 3 * 1.5) / (4 * 4.0));  // 6 of 4 capped for 0.5 s
  EXPECT_DOUBLE_EQ(workers[0].utilisation, 4.5 / 4);  // the slot figure adds the spans up
}

// One core per task (the default request) on hosts of equal slots: utilisation_cores is the
// existing utilisation_mean.
TEST(ResourceUtilisation, SingleCoreTasksMatchTheSlotUtilisation) {
  std::vector<TaskRecord> tasks{task(0, 0, 0, 4, 0, 1, 0), task(1, 1, 1, 3, 1, 1, 0), task(2, 2, 3, 4, 1, 1, 0)};
  std::vector<WorkerRecord> workers{worker("a", 2, 0), worker("b", 2, 0)};
  workers[0].busy_time = 4;
  workers[1].busy_time = 3;
  const Summary s = summarize(tasks, workers, 0);
  EXPECT_DOUBLE_EQ(s.utilisation_cores, s.utilisation_mean);
  EXPECT_DOUBLE_EQ(workers[0].utilisation_cores, workers[0].utilisation);
  EXPECT_DOUBLE_EQ(workers[1].utilisation_cores, workers[1].utilisation);
  EXPECT_EQ(s.fragmentation, 0);  // nothing ever waited where a core was free but unusable
}

// Nobody limits memory and nobody has a GPU: those utilisations are 0, not NaN, however much
// the tasks ask for; a worker with no cores (a GPU-only box) counts in no core figure.
TEST(ResourceUtilisation, UnlimitedMemoryAndZeroCapacityAreZero) {
  std::vector<TaskRecord> tasks{task(0, 0, 0, 10, 0, 1, 1e12), task(1, 0, 0, 10, 1, 0, 0, 1)};
  std::vector<WorkerRecord> workers{worker("a", 2, 0), worker("gpu-only", 0, 0, 1)};
  const Summary s = summarize(tasks, workers, 0);
  EXPECT_EQ(s.utilisation_memory, 0);
  EXPECT_EQ(workers[0].utilisation_memory, 0);
  EXPECT_DOUBLE_EQ(s.utilisation_cores, 10.0 / 20.0);  // the GPU box adds no cores
  EXPECT_EQ(workers[1].utilisation_cores, 0);
  EXPECT_DOUBLE_EQ(workers[1].utilisation_gpus, 1.0);
  EXPECT_DOUBLE_EQ(s.utilisation_gpus, 1.0);
  EXPECT_EQ(s.fragmentation, 0);
}

// a and b: 4 cores and 8 memory each; 8 cores in all; makespan 10.
//   t0 on a: 1 core, 6 memory over [0, 10)       a free: 3 cores, 2 memory
//   t1 on b: 3 cores, 1 memory over [0, 4)       b free: 1 core, 7 memory
//   t2 waits [0, 4): 2 cores, 4 memory, then runs on b over [4, 10)
//   t3 waits [2, 3): 1 core, 1 memory, then runs on a over [3, 10)
// [0, 2): only t2 waits; it fits neither a (memory) nor b (cores): 3 + 1 = 4 cores stranded.
// [2, 3): t3 fits both: nothing stranded.
// [3, 4): t2 again alone; a has 2 cores, 1 memory free: 2 + 1 = 3 stranded.
// [4, 10): nobody waits.
// Fragmentation = (4 x 2 + 3 x 1) / (8 x 10) = 11 / 80.
TEST(Fragmentation, HandComputed) {
  std::vector<TaskRecord> tasks{task(0, 0, 0, 10, 0, 1, 6), task(1, 0, 0, 4, 1, 3, 1), task(2, 0, 4, 10, 1, 2, 4),
                                task(3, 2, 3, 10, 0, 1, 1)};
  std::vector<WorkerRecord> workers{worker("a", 4, 8), worker("b", 4, 8)};
  EXPECT_DOUBLE_EQ(fragmentation(tasks, workers, 0, 10), 11.0 / 80.0);
  const Summary s = summarize(tasks, workers, 0);
  EXPECT_DOUBLE_EQ(s.fragmentation, 11.0 / 80.0);
}

// A host that does not limit memory takes any memory request: its free cores are not
// stranded by a memory-hungry waiting task; a GPU request strands the free cores of hosts
// without a GPU.
//   a: 2 cores, memory not limited; b: 2 cores, 4 memory, 1 GPU; 4 cores; makespan 10.
//   t0 on b: 1 core, 1 GPU over [0, 10)           b free: 1 core, 4 memory, 0 GPU
//   t1 waits [0, 5): 1 core, 1e12 memory, then runs on a over [5, 10)
//   t2 waits [0, 2): 1 core, 1 GPU; it never starts (b's GPU is held) and fails at 2
// [0, 2): t1 fits a (memory not limited): a not stranded; b: t1 needs more memory, t2 a
//         GPU: b's 1 core stranded. -> 1 x 2
// [2, 5): only t1 waits: the same -> 1 x 3
// Fragmentation = 5 / 40.
TEST(Fragmentation, UnlimitedMemoryFitsAndMissingGpusStrand) {
  std::vector<TaskRecord> tasks{task(0, 0, 0, 10, 1, 1, 0, 1), task(1, 0, 5, 10, 0, 1, 1e12),
                                task(2, 0, -1, 2, kNoWorker, 1, 0, 1, TaskState::kFailed)};
  std::vector<WorkerRecord> workers{worker("a", 2, 0), worker("b", 2, 4, 1)};
  EXPECT_DOUBLE_EQ(fragmentation(tasks, workers, 0, 10), 5.0 / 40.0);
}

// The edges: no cores at all, no makespan, nobody waiting, a lost task waiting to the end.
TEST(Fragmentation, EdgeCases) {
  std::vector<TaskRecord> none;
  std::vector<WorkerRecord> no_cores{worker("gpu-only", 0, 0, 2)};
  EXPECT_EQ(fragmentation({task(0, 0, -1, -1, kNoWorker, 1, 0, 0, TaskState::kPending)}, no_cores, 0, 10), 0);
  EXPECT_EQ(fragmentation(none, {worker("a", 4, 0)}, 0, 10), 0);
  EXPECT_EQ(fragmentation({task(0, 0, 0, 0, 0, 1, 0)}, {worker("a", 4, 0)}, 0, 0), 0);
  // A 3-core task that never starts waits until the window's end beside a 2-core host that
  // runs a 1-core task over [0, 4): 1 core stranded for 4 s, 2 cores for 6 s, of 2 x 10.
  std::vector<TaskRecord> lost{task(0, 0, 0, 4, 0, 1, 0), task(1, 0, -1, -1, kNoWorker, 3, 0, 0, TaskState::kPending)};
  EXPECT_DOUBLE_EQ(fragmentation(lost, {worker("a", 2, 0)}, 0, 10), (1 * 4 + 2 * 6) / 20.0);
  // A task waiting for a core while all are busy strands nothing: no core is free.
  std::vector<TaskRecord> busy{task(0, 0, 0, 5, 0, 2, 0), task(1, 0, 5, 10, 0, 2, 0)};
  EXPECT_EQ(fragmentation(busy, {worker("a", 2, 0)}, 0, 10), 0);
}

// Fractional requests that sum to the capacity only up to rounding still fit.
TEST(Fragmentation, RoundingDoesNotStrand) {
  std::vector<TaskRecord> tasks;
  for (TaskId i = 0; i < 10; ++i) tasks.push_back(task(i, 0, 0, 10, 0, 0.1, 0));
  tasks.push_back(task(10, 0, 10, 20, 0, 0.1, 0));  // waits [0, 10) while the host is full
  tasks.push_back(task(11, 0, 0, 20, 1, 0.5, 0));   // b: 0.5 of 1 core free all along
  // b's free half core fits task 10 (0.1): nothing stranded, although a's ten tenths add up
  // to 0.9999999999999999 or 1.0000000000000002 depending on the order.
  EXPECT_EQ(fragmentation(tasks, {worker("a", 1, 0), worker("b", 1, 0)}, 0, 20), 0);
  std::vector<TaskRecord> just_a(tasks.begin(), tasks.begin() + 11);
  EXPECT_EQ(fragmentation(just_a, {worker("a", 1, 0)}, 0, 20), 0);
}

TEST(Summary, CountsUnschedulableTasksFromTheEvents) {
  std::vector<EventRecord> events{{0.5, "task_unschedulable", "", "task 3 fits no worker: gpus", true},
                                  {0.5, "task_unschedulable", "", "task 4 fits no worker: gpus", true},
                                  {1.0, "task_retry", "", "task 1 retried after 1 s", false}};
  Summary s;
  add_fault_metrics(events, s);
  EXPECT_EQ(s.tasks_unschedulable, 2u);
  EXPECT_EQ(s.alerts, 2u);
  EXPECT_EQ(s.faults_injected, 0u);
}

// A comparison shows the packing figures when a run held memory or GPUs, stranded cores or
// refused a task; faults and DAG jobs keep their own columns; one-core runs the default.
TEST(Comparison, ResourceColumnsOnlyForRunsWithResources) {
  Summary plain, packed, faulty;
  packed.fragmentation = 0.1;
  faulty.fragmentation = 0.1;
  faulty.faults_injected = 1;
  EXPECT_EQ(columns_for({{"jsq", {plain, plain}}}, false), Columns::kTasks);
  EXPECT_EQ(columns_for({{"jsq", {plain}}, {"binpack", {packed}}}, false), Columns::kResources);
  EXPECT_EQ(columns_for({{"jsq", {packed}}}, true), Columns::kJobs);
  EXPECT_EQ(columns_for({{"jsq", {faulty}}}, false), Columns::kFaults);
  Summary refused;
  refused.tasks_unschedulable = 1;
  EXPECT_EQ(columns_for({{"jsq", {refused}}}, false), Columns::kResources);
  const auto metrics = comparison_metrics(Columns::kResources);
  EXPECT_NE(std::find(metrics.begin(), metrics.end(), "fragmentation"), metrics.end());
  EXPECT_NE(std::find(metrics.begin(), metrics.end(), "utilisation_memory"), metrics.end());
}

}  // namespace
}  // namespace fulcrum
