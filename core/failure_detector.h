// The failure detector: when a worker is to be suspected or declared dead, and when a
// running attempt has run too long. A fixed-timeout detector on heartbeat silence, checked
// every `period` once armed: a worker silent for suspect_after gets no new tasks until it
// is heard from again; silent for dead_after, it is dead and its work goes elsewhere.
//
// It decides and remembers only when to look; the worker's liveness flags live in
// ClusterState, and the scheduler applies the verdicts (so that each change of a worker
// or a task has one place). A threshold of 0 turns that check off.
#pragma once

#include <cstdint>

#include "core/cluster.h"
#include "core/types.h"

namespace fulcrum {

class FailureDetector {
 public:
  struct Config {
    double suspect_after = 0;
    double dead_after = 0;
    double period = 1;
    double task_timeout = 0;
  };
  enum class Verdict : std::uint8_t { kAlive, kSuspect, kDead };

  explicit FailureDetector(const Config& config) : config_(config) {}

  // Whether anything is watched at all (a silence threshold or a task timeout).
  bool watching() const { return config_.suspect_after > 0 || config_.dead_after > 0 || config_.task_timeout > 0; }
  // Starts the periodic checks if they are not running (a first worker joined, or another
  // part needs a periodic look, as quarantine does).
  void arm(Time now) {
    if (next_check_ == kNever) next_check_ = now + config_.period;
  }
  Time next_check() const { return next_check_; }
  bool due(Time now) const { return now >= next_check_; }
  // A check ran at `now`: the next one is a period later.
  void checked(Time now) { next_check_ = now + config_.period; }

  // What `worker`'s silence means at `now`. kSuspect only for a worker not suspected yet.
  // REQUIRES: worker.alive.
  Verdict judge(Time now, const Worker& worker) const {
    const double silence = now - worker.last_heard;
    if (config_.dead_after > 0 && silence >= config_.dead_after) return Verdict::kDead;
    if (config_.suspect_after > 0 && silence >= config_.suspect_after && !worker.suspected) return Verdict::kSuspect;
    return Verdict::kAlive;
  }
  // Whether an attempt that started at `start` (>= 0) has run out its time at `now`.
  bool timed_out(Time now, Time start) const {
    return config_.task_timeout > 0 && start >= 0 && now - start >= config_.task_timeout;
  }

 private:
  Config config_;
  Time next_check_ = kNever;
};

}  // namespace fulcrum
