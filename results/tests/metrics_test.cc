#include "results/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace fulcrum {
namespace {

TaskRecord finished(TaskId id, Time submit, Time start, Time end, WorkerId w) {
  return TaskRecord{id, 0, 1e9, submit, start, start, end, w, 1, TaskState::kFinished};
}

TEST(Metrics, SummaryOfHandMadeRecords) {
  std::vector<TaskRecord> tasks{
      finished(0, 0, 0, 2, 0),   // response 2, wait 0, slowdown 1
      finished(1, 1, 2, 4, 0),   // response 3, wait 1, slowdown 1.5
      finished(2, 2, 2, 3, 1),   // response 1, wait 0, slowdown 1
  };
  tasks.push_back(TaskRecord{3, 0, 1e9, 3, -1, -1, -1, kNoWorker, 0, TaskState::kPending});  // never finished: lost
  std::vector<WorkerRecord> workers{{"a", "g", 1e9, 1, 2, 4.0, 0}, {"b", "g", 1e9, 2, 1, 1.0, 0}};
  const Summary s = summarize(tasks, workers, /*tasks_retried=*/5);
  EXPECT_EQ(s.tasks_submitted, 4u);
  EXPECT_EQ(s.tasks_completed, 3u);
  EXPECT_EQ(s.tasks_lost, 1u);
  EXPECT_EQ(s.tasks_retried, 5u);
  EXPECT_DOUBLE_EQ(s.makespan, 4.0);
  EXPECT_DOUBLE_EQ(s.throughput, 0.75);
  EXPECT_DOUBLE_EQ(s.response_mean, 2.0);
  EXPECT_DOUBLE_EQ(s.response_p50, 2.0);
  EXPECT_DOUBLE_EQ(s.response_p99, 3.0);
  EXPECT_DOUBLE_EQ(s.wait_mean, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.slowdown_mean, 3.5 / 3.0);
  // Utilisations: a = 4 / (1 x 4) = 1, b = 1 / (2 x 4) = 0.125; mean 0.5625, sd 0.4375.
  EXPECT_DOUBLE_EQ(workers[0].utilisation, 1.0);
  EXPECT_DOUBLE_EQ(workers[1].utilisation, 0.125);
  EXPECT_DOUBLE_EQ(s.utilisation_cv, 0.4375 / 0.5625);
}

TEST(Metrics, EmptyRunHasZeroes) {
  std::vector<TaskRecord> tasks;
  std::vector<WorkerRecord> workers;
  const Summary s = summarize(tasks, workers, 0);
  EXPECT_EQ(s.tasks_submitted, 0u);
  EXPECT_EQ(s.makespan, 0.0);
  EXPECT_FALSE(std::isnan(s.utilisation_cv));
}

}  // namespace
}  // namespace fulcrum
