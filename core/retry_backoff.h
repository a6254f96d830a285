// Retries with exponential backoff: how many attempts of each task failed, and the tasks
// waiting out their backoff before they return to the central queue. A task it holds is
// in TaskState::kBackoff, a state of its own: neither queued centrally nor on a worker.
//
// The n-th failure of a task waits base x 2^(n-1) seconds (0: retried at once). Tasks
// whose backoffs end together are released in the order they were held.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <tuple>
#include <vector>

#include "core/types.h"

namespace fulcrum {

class RetryBackoff {
 public:
  explicit RetryBackoff(double base) : base_(base) {}

  // Counts a failed attempt of `task` and returns the backoff it has to wait (0: none).
  double failed(TaskId task);
  std::uint32_t failures(TaskId task) const { return task < failures_.size() ? failures_[task] : 0; }

  // Holds `task` until `until`.
  void hold(TaskId task, Time until) { held_.emplace(until, order_++, task); }
  // When the next held task is due, or kNever.
  Time next_release() const { return held_.empty() ? kNever : std::get<0>(held_.top()); }
  // Appends the tasks due at `now` to `out` in the order they were held, and forgets them.
  // A task that left kBackoff meanwhile (its job was cancelled) comes out too: the caller
  // skips it.
  void release(Time now, std::vector<TaskId>& out);
  std::size_t held() const { return held_.size(); }

 private:
  double base_;
  std::vector<std::uint32_t> failures_;  // per task
  std::priority_queue<std::tuple<Time, std::uint64_t, TaskId>, std::vector<std::tuple<Time, std::uint64_t, TaskId>>,
                      std::greater<>>
      held_;  // (until, order, task)
  std::uint64_t order_ = 0;
};

}  // namespace fulcrum
