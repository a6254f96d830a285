#include "core/profile.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/resources.h"

namespace fulcrum {

void Profile::reset(Time now, Amounts free_now, std::vector<std::pair<Time, Amounts>> releases) {
  std::sort(releases.begin(), releases.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  times_.assign(1, now);
  free_.assign(1, std::move(free_now));
  for (auto& [t, amounts] : releases) {
    assert(t >= now);
    if (t > times_.back()) {
      times_.push_back(t);
      free_.push_back(free_.back());
    }
    Amounts& f = free_.back();
    if (f.size() < amounts.size()) f.resize(amounts.size(), 0);
    for (std::size_t k = 0; k < amounts.size(); ++k) f[k] += amounts[k];
  }
}

bool Profile::fits(const Amounts& need, const Amounts& free) {
  for (std::size_t k = 0; k < need.size(); ++k) {
    if (need[k] <= 0) continue;
    const double have = k < free.size() ? free[k] : 0;
    if (need[k] > have + kSlack * std::max(1.0, std::fabs(have))) return false;
  }
  return true;
}

std::size_t Profile::segment(Time t) const {
  // The last breakpoint at or before t.
  const auto it = std::upper_bound(times_.begin(), times_.end(), t);
  return it == times_.begin() ? 0 : static_cast<std::size_t>(it - times_.begin()) - 1;
}

Time Profile::earliest(const Amounts& need, double duration) const {
  for (std::size_t i = 0; i < times_.size(); ++i) {
    if (!fits(need, free_[i])) continue;
    // It fits from times_[i]: does it hold until times_[i] + duration?
    const Time until = times_[i] + duration;
    std::size_t j = i + 1;
    while (j < times_.size() && times_[j] < until && fits(need, free_[j])) ++j;
    if (j == times_.size() || times_[j] >= until) return times_[i];
    i = j;  // segment j does not fit: no start before it can hold; go on after it
  }
  return kNever;
}

Profile::Amounts Profile::free_at(Time t) const { return free_[segment(t)]; }

std::size_t Profile::split(Time t) {
  const std::size_t i = segment(t);
  if (times_[i] == t) return i;
  times_.insert(times_.begin() + static_cast<std::ptrdiff_t>(i) + 1, t);
  free_.insert(free_.begin() + static_cast<std::ptrdiff_t>(i) + 1, free_[i]);
  return i + 1;
}

void Profile::take(Time t, double duration, const Amounts& need) {
  const std::size_t first = split(t);
  const Time until = t + duration;
  const std::size_t last = std::isfinite(until) ? split(until) : times_.size();
  for (std::size_t i = first; i < last; ++i) {
    Amounts& f = free_[i];
    if (f.size() < need.size()) f.resize(need.size(), 0);
    for (std::size_t k = 0; k < need.size(); ++k) f[k] -= need[k];
  }
}

}  // namespace fulcrum
