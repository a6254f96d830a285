#include "core/local_queue.h"

#include <algorithm>
#include <limits>

namespace fulcrum {

LocalQueue::LocalQueue(Resources capacity) : capacity_(std::move(capacity)) {
  if (capacity_.memory <= 0) capacity_.memory = std::numeric_limits<double>::infinity();
  free_ = capacity_;
}

bool LocalQueue::remove(TaskId t) {
  const auto it = std::find_if(waiting_.begin(), waiting_.end(), [t](const Entry& e) { return e.task == t; });
  if (it == waiting_.end()) return false;
  waiting_.erase(it);
  return true;
}

void LocalQueue::start_ready(std::vector<TaskId>& out) {
  while (!waiting_.empty()) {
    Entry& head = waiting_.front();
    if (!fits_free(head.request, free_)) return;
    take(head.request, -1);
    out.push_back(head.task);
    running_.emplace(head.task, std::move(head.request));
    waiting_.pop_front();
  }
}

bool LocalQueue::finished(TaskId t) {
  const auto it = running_.find(t);
  if (it == running_.end()) return false;
  take(it->second, +1);
  running_.erase(it);
  if (running_.empty()) free_ = capacity_;  // no drift from rounding once idle
  return true;
}

void LocalQueue::take(const Resources& r, double sign) {
  free_.cores += sign * r.cores;
  free_.memory += sign * r.memory;  // infinity when not limited, and stays so
  free_.gpus += sign * r.gpus;
  for (const auto& [name, amount] : r.other) {
    if (amount > 0) free_.other[name] += sign * amount;
  }
}

}  // namespace fulcrum
