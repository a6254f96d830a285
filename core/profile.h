// Backfilling's arithmetic (docs/backfilling.md): the capacity free in the cluster as a
// step function of time, built from what is free now and the estimated ends of what
// runs, and the reservations EASY and conservative backfilling take out of it.
//
// Amounts are pooled over the workers in service, dimension by dimension: the textbook
// model, where processors are interchangeable. Where a request cannot be split across
// hosts at will (a host has too little left for a whole member), the pooled sums may
// promise a start that no placement can honour; the scheduler always places on real
// workers, so that only delays a reservation, never over-commits a host.
//
// The scheduler rebuilds it at every pass, so it is laid out flat (one array of amounts,
// a segment after another) and reuses its storage: a pass allocates nothing once the
// arrays have grown to the cluster's size.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "core/resources.h"
#include "core/types.h"

namespace fulcrum {

class Profile {
 public:
  using Amounts = std::span<const double>;  // by dimension (ClusterState::dimensions())

  // What a running task gives back at its estimated end: `amounts` point at its request
  // (one value per dimension), which must outlive reset().
  struct Release {
    Time end;
    const double* amounts;
  };

  // `free_now`: pooled free amounts at `now`; `releases`: what runs, each end >= now, in
  // any order (reset sorts them in place). Releases that end together make one breakpoint.
  void reset(Time now, Amounts free_now, std::vector<Release>& releases);

  // The earliest breakpoint t >= now at which `need` fits throughout [t, t + duration)
  // (at t itself when duration is 0); kNever when it never does.
  Time earliest(Amounts need, double duration) const;
  // The amounts free at t: every release at or before t counted (valid until take()).
  Amounts free_at(Time t) const;
  // Takes `need` out of [t, t + duration). REQUIRES: t is a breakpoint (earliest()'s
  // answer, or now).
  void take(Time t, double duration, Amounts need);

  // Whether `need` fits `free` in every dimension (fractional amounts forgive rounding).
  // Inline: a conservative pass asks it of every segment for every waiting job.
  static bool fits(Amounts need, Amounts free) {
    for (std::size_t k = 0; k < need.size(); ++k) {
      const double have = k < free.size() ? free[k] : 0;
      if (need[k] <= 0 || need[k] <= have) continue;
      if (need[k] > have + kSlack * std::max(1.0, std::fabs(have))) return false;
    }
    return true;
  }

 private:
  std::size_t segment(Time t) const;  // the segment holding t
  std::size_t split(Time t);          // a breakpoint at t; its index
  Amounts free_of(std::size_t i) const { return {free_.data() + i * dims_, dims_}; }

  std::size_t dims_ = 0;
  std::vector<Time> times_;   // breakpoints, ascending; times_[0] is now
  std::vector<double> free_;  // segment i, [times_[i], times_[i + 1]): free_[i * dims_ + k]
};

}  // namespace fulcrum
