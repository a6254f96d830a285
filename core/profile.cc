#include "core/profile.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace fulcrum {

void Profile::reset(Time now, Amounts free_now, std::vector<Release>& releases) {
  std::sort(releases.begin(), releases.end(), [](const Release& a, const Release& b) { return a.end < b.end; });
  dims_ = free_now.size();
  times_.assign(1, now);
  free_.assign(free_now.begin(), free_now.end());
  for (const Release& r : releases) {
    assert(r.end >= now);
    if (r.end > times_.back()) {
      times_.push_back(r.end);
      free_.resize(free_.size() + dims_);
      std::copy_n(free_.data() + free_.size() - 2 * dims_, dims_, free_.data() + free_.size() - dims_);
    }
    double* f = free_.data() + free_.size() - dims_;
    for (std::size_t k = 0; k < dims_; ++k) f[k] += r.amounts[k];
  }
}

std::size_t Profile::segment(Time t) const {
  // The last breakpoint at or before t.
  const auto it = std::upper_bound(times_.begin(), times_.end(), t);
  return it == times_.begin() ? 0 : static_cast<std::size_t>(it - times_.begin()) - 1;
}

Time Profile::earliest(Amounts need, double duration) const {
  for (std::size_t i = 0; i < times_.size(); ++i) {
    if (!fits(need, free_of(i))) continue;
    // It fits from times_[i]: does it hold until times_[i] + duration?
    const Time until = times_[i] + duration;
    std::size_t j = i + 1;
    while (j < times_.size() && times_[j] < until && fits(need, free_of(j))) ++j;
    if (j == times_.size() || times_[j] >= until) return times_[i];
    i = j;  // segment j does not fit: no start before it can hold; go on after it
  }
  return kNever;
}

Profile::Amounts Profile::free_at(Time t) const { return free_of(segment(t)); }

std::size_t Profile::split(Time t) {
  const std::size_t i = segment(t);
  if (times_[i] == t) return i;
  times_.insert(times_.begin() + static_cast<std::ptrdiff_t>(i) + 1, t);
  const auto at = free_.begin() + static_cast<std::ptrdiff_t>((i + 1) * dims_);
  free_.insert(at, dims_, 0.0);
  std::copy_n(free_.data() + i * dims_, dims_, free_.data() + (i + 1) * dims_);
  return i + 1;
}

void Profile::take(Time t, double duration, Amounts need) {
  assert(need.size() <= dims_);
  const std::size_t first = split(t);
  const Time until = t + duration;
  const std::size_t last = std::isfinite(until) ? split(until) : times_.size();
  for (std::size_t i = first; i < last; ++i) {
    double* f = free_.data() + i * dims_;
    for (std::size_t k = 0; k < need.size(); ++k) f[k] -= need[k];
  }
}

}  // namespace fulcrum
