// The autoscaler: target tracking on the cluster's utilisation or backlog, sans-I/O.
//
// The Scheduler owns one (SchedulerConfig::autoscale, off by default) and feeds it the load
// it holds between events; every `period` seconds it asks for a decision. The load is
// integrated exactly (it is piecewise constant between events), and a metric is its
// time-average over the last `window` seconds (a stabilisation window):
//   utilisation = busy slots / slots of the workers in service
//   backlog     = tasks in the system (waiting centrally, queued or running on a worker in
//                 service) / slots of the workers in service
// Workers in service are alive and not draining; booting workers (scale-outs not yet
// joined) count as capacity to come, so the cluster is not grown again while it boots.
//
// The window restarts whenever the number of workers in service changed, and no decision
// but the minimum's is taken before it is full: a metric never mixes cluster sizes, and
// Poisson noise is averaged over `window` seconds.
//
// Decisions (n = workers in service, p = n + booting):
// - below `min_workers` (p < min): scale out to min, at once;
// - metric > target x (1 + tolerance) and scale_out_cooldown passed since the last scale-out:
//   scale out to desired = max(n + 1, ceil(n x metric / target)), at most max_workers,
//   if that is more than p (booting capacity counts);
// - metric < target x (1 - tolerance) for `scale_in_after` evaluations in a row, nothing
//   booting, and scale_in_cooldown passed since the last scaling action of either kind:
//   scale in to max(min_workers, ceil(n x metric / target), ceil(n / 2)): at most half the
//   workers in one step.
// The band and the sustained-low requirement keep a noisy steady load from flapping: after
// a scale-in the metric rises towards the target, inside the band.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <string_view>

#include "core/types.h"

namespace fulcrum {

struct AutoscaleConfig {
  enum class Metric : std::uint8_t { kUtilisation, kBacklog };
  bool enabled = false;
  Metric metric = Metric::kUtilisation;
  double target = 0.7;
  std::uint32_t min_workers = 1;
  std::uint32_t max_workers = std::numeric_limits<std::uint32_t>::max();
  double period = 5;                // seconds between evaluations
  double window = 30;               // seconds of load a metric averages (>= period)
  double scale_out_cooldown = 10;   // seconds after a scale-out before the next one
  double scale_in_cooldown = 60;    // seconds after any scaling action before a scale-in
  double tolerance = 0.1;           // hysteresis band around the target (fraction)
  std::uint32_t scale_in_after = 3; // consecutive low evaluations before a scale-in
};

std::string_view to_string(AutoscaleConfig::Metric metric);

struct AutoscaleDecision {
  std::int64_t delta = 0;    // > 0: start that many workers; < 0: drain that many
  double metric = 0;         // the metric over the period just ended
  std::uint32_t desired = 0; // the size it aims at (workers in service + booting)
};

class Autoscaler {
 public:
  explicit Autoscaler(const AutoscaleConfig& config) : config_(config) {}

  // The load from now on (busy slots, tasks in the system, slots in service); the load
  // given before holds until `now`. Times must not decrease.
  void update(Time now, double busy, double tasks, double capacity);
  // When the next evaluation is due (kNever before the first update).
  Time next_evaluation() const { return next_eval_; }
  // Evaluates the period that ends at `now` and starts the next one.
  AutoscaleDecision evaluate(Time now, std::uint32_t in_service, std::uint32_t booting);
  const AutoscaleConfig& config() const { return config_; }

 private:
  void integrate(Time now);

  AutoscaleConfig config_;
  Time last_ = -1;          // -1: no update yet
  Time next_eval_ = kNever;
  double busy_ = 0, tasks_ = 0, capacity_ = 0;           // the load now
  double busy_area_ = 0, tasks_area_ = 0, capacity_area_ = 0;  // over this period
  struct Period {
    double busy = 0, tasks = 0, capacity = 0;
  };
  std::deque<Period> history_;  // the window's periods, the latest last
  std::uint32_t last_in_service_ = 0;
  Time last_out_ = -kNever;  // last scale-out
  Time last_action_ = -kNever;
  std::uint32_t low_ = 0;    // consecutive low evaluations
};

}  // namespace fulcrum
