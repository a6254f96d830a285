#include "core/autoscaler.h"

#include <algorithm>
#include <cmath>

namespace fulcrum {

std::string_view to_string(AutoscaleConfig::Metric metric) {
  return metric == AutoscaleConfig::Metric::kBacklog ? "backlog" : "utilisation";
}

void Autoscaler::integrate(Time now) {
  if (last_ < 0) {
    last_ = now;
    next_eval_ = now + config_.period;
    return;
  }
  const double dt = now - last_;
  if (dt > 0) {
    busy_area_ += busy_ * dt;
    tasks_area_ += tasks_ * dt;
    capacity_area_ += capacity_ * dt;
    last_ = now;
  }
}

void Autoscaler::update(Time now, double busy, double tasks, double capacity) {
  integrate(now);
  busy_ = busy;
  tasks_ = tasks;
  capacity_ = capacity;
}

AutoscaleDecision Autoscaler::evaluate(Time now, std::uint32_t in_service, std::uint32_t booting) {
  integrate(now);
  // The window restarts when the cluster changed size: its past load says little now.
  if (in_service != last_in_service_) history_.clear();
  last_in_service_ = in_service;
  history_.push_back({busy_area_, tasks_area_, capacity_area_});
  const auto periods = static_cast<std::size_t>(std::max(1.0, std::round(config_.window / config_.period)));
  while (history_.size() > periods) history_.pop_front();
  const bool full = history_.size() >= periods;
  double busy = 0, tasks = 0, capacity = 0;
  for (const Period& p : history_) {
    busy += p.busy;
    tasks += p.tasks;
    capacity += p.capacity;
  }
  AutoscaleDecision d;
  const double work = config_.metric == AutoscaleConfig::Metric::kBacklog ? tasks : busy;
  // No capacity all along: any work at all is infinitely much.
  d.metric = capacity > 0 ? work / capacity : (work > 0 || tasks_ > 0 ? INFINITY : 0);
  busy_area_ = tasks_area_ = capacity_area_ = 0;
  next_eval_ = now + config_.period;

  const std::uint32_t provisioned = in_service + booting;
  d.desired = provisioned;
  const auto clamp = [&](double want) {
    want = std::max(want, static_cast<double>(config_.min_workers));
    want = std::min(want, static_cast<double>(config_.max_workers));
    return static_cast<std::uint32_t>(want);
  };
  // ceil, forgiving rounding noise: 10 x 0.9 / 0.6 is 15, not 16.
  const auto needed = [&] { return std::ceil(in_service * d.metric / config_.target - 1e-9); };
  if (provisioned < config_.min_workers) {
    d.desired = config_.min_workers;
  } else if (d.metric > config_.target * (1 + config_.tolerance)) {
    low_ = 0;
    if (full && now - last_out_ >= config_.scale_out_cooldown) {
      // Nothing in service (all booting): the capacity on its way is all it knows of.
      const double want = in_service > 0 && std::isfinite(d.metric) ? std::max(needed(), in_service + 1.0) : 0.0;
      d.desired = std::max(provisioned, clamp(want));
    }
  } else if (d.metric < config_.target * (1 - config_.tolerance)) {
    ++low_;
    if (full && low_ >= config_.scale_in_after && booting == 0 && now - last_action_ >= config_.scale_in_cooldown) {
      // At most half the workers in service go in one step: the metric of a queue is not
      // linear in its capacity, so a big drop is taken in a few looks.
      const double keep = std::ceil(in_service / 2.0);
      d.desired = std::min(provisioned, clamp(std::max(needed(), keep)));
    }
  } else {
    low_ = 0;
  }
  d.delta = static_cast<std::int64_t>(d.desired) - static_cast<std::int64_t>(provisioned);
  if (d.delta > 0) {
    last_out_ = now;
    last_action_ = now;
  } else if (d.delta < 0) {
    last_action_ = now;
    low_ = 0;
  }
  return d;
}

}  // namespace fulcrum
