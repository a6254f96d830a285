#include "core/retry_backoff.h"

#include <cmath>

namespace fulcrum {

double RetryBackoff::failed(TaskId task) {
  if (failures_.size() <= task) failures_.resize(task + 1, 0);
  const std::uint32_t n = ++failures_[task];
  return base_ > 0 ? base_ * std::ldexp(1.0, static_cast<int>(n) - 1) : 0;
}

void RetryBackoff::release(Time now, std::vector<TaskId>& out) {
  while (!held_.empty() && std::get<0>(held_.top()) <= now) {
    out.push_back(std::get<2>(held_.top()));
    held_.pop();
  }
}

}  // namespace fulcrum
