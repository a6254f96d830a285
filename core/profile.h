// Backfilling's arithmetic (docs/backfilling.md): the capacity free in the cluster as a
// step function of time, built from what is free now and the estimated ends of what
// runs, and the reservations EASY and conservative backfilling take out of it.
//
// Amounts are pooled over the workers in service, dimension by dimension: the textbook
// model, where processors are interchangeable. Where a request cannot be split across
// hosts at will (a host has too little left for a whole member), the pooled sums may
// promise a start that no placement can honour; the scheduler always places on real
// workers, so that only delays a reservation, never over-commits a host.
#pragma once

#include <utility>
#include <vector>

#include "core/types.h"

namespace fulcrum {

class Profile {
 public:
  using Amounts = std::vector<double>;  // by dimension (ClusterState::dimensions())

  // `free_now`: pooled free amounts at `now`; `releases`: (estimated end, amounts) of
  // what runs, each end >= now, in any order.
  void reset(Time now, Amounts free_now, std::vector<std::pair<Time, Amounts>> releases);

  // The earliest breakpoint t >= now at which `need` fits throughout [t, t + duration)
  // (at t itself when duration is 0); kNever when it never does.
  Time earliest(const Amounts& need, double duration) const;
  // The amounts free at t: every release at or before t counted.
  Amounts free_at(Time t) const;
  // Takes `need` out of [t, t + duration). REQUIRES: t is a breakpoint (earliest()'s
  // answer, or now).
  void take(Time t, double duration, const Amounts& need);

  // Whether `need` fits `free` in every dimension (fractional amounts forgive rounding).
  static bool fits(const Amounts& need, const Amounts& free);

 private:
  std::size_t segment(Time t) const;  // the segment holding t
  std::size_t split(Time t);          // a breakpoint at t; its index

  std::vector<Time> times_;    // breakpoints, ascending; times_[0] is now
  std::vector<Amounts> free_;  // free_[i]: what is free on [times_[i], times_[i + 1])
};

}  // namespace fulcrum
