// Fault timelines: what a scenario's `faults:` list says, and the concrete, time-ordered
// stream of per-host fault events it expands to. Both drivers consume the same stream, so
// a timeline means the same thing in simulation and on real workers.
//
// Expansion is deterministic: targets given as a fraction are drawn from the scenario's
// seed, and random failures (per-host exponential MTBF/MTTR) come from their own Rng
// stream, generated lazily so that a timeline can run for as long as the workload does.
#pragma once

#include <cstdint>
#include <queue>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/types.h"

namespace fulcrum {

struct FaultSpec {
  enum class Kind : std::uint8_t { kCrash, kSlowdown, kLink, kPause, kLeaderKill, kRandom };
  Kind kind = Kind::kCrash;
  // The target: one host, a group, or a fraction of all hosts chosen by the seed. None
  // for leader_kill; random failures default to every host.
  std::string host;
  std::string group;
  double fraction = 0;
  double at = 0;              // seconds
  double recover_after = -1;  // crash: < 0 never recovers
  double duration = 0;        // slowdown, link, pause
  double factor = 1;          // slowdown: task time x factor; link: latency x factor
  bool cut = false;           // link: off for the duration (else degraded by factor)
  double mtbf = 0, mttr = 0;  // random
  double until = kNever;      // random: no failure starts after this
  int line = 0;               // where it was written, for messages
  // Set on the faults a `zone_outage` of this zone became: the scenario loader expands one
  // into a crash (recover_after: its duration) or a cut link (mode partition) of each host
  // group of the zone, so that the timeline knows no zones.
  std::string zone;
};

std::string to_string(FaultSpec::Kind kind);

struct FaultEvent {
  enum class Kind : std::uint8_t {
    kCrash, kRecover,        // the host is down / back up (a fresh worker joins)
    kSlowStart, kSlowEnd,    // the host computes `factor` times slower / normally again
    kLinkStart, kLinkEnd,    // the host's link is cut or degraded by `factor` / restored
    kPauseStart, kPauseEnd,  // the host is alive but silent / resumes
    kLeaderKill,             // the scheduler dies; a standby takes over
  };
  Time time = 0;
  Kind kind = Kind::kCrash;
  std::uint32_t host = 0;  // index into the scenario's host list (not for kLeaderKill)
  double factor = 1;
  bool cut = false;
  std::uint32_t fault = 0;  // index of the FaultSpec it came from
};

std::string to_string(FaultEvent::Kind kind);

// The merged, time-ordered event stream of a fault list over `hosts` (names and groups, in
// the scenario's order). REQUIRES: the specs were validated against these hosts (names
// and groups exist, fractions in (0, 1]).
class FaultTimeline {
 public:
  FaultTimeline(const std::vector<FaultSpec>& specs, const std::vector<std::string>& host_names,
                const std::vector<std::string>& host_groups, std::uint64_t seed);
  // The next event in time order (ties: in the order the specs list them), or false.
  bool next(FaultEvent& out);
  bool empty() const { return heap_.empty(); }

 private:
  struct Entry {
    FaultEvent event;
    std::uint64_t order;
    bool operator>(const Entry& o) const {
      return event.time != o.event.time ? event.time > o.event.time : order > o.order;
    }
  };
  void push(const FaultEvent& e);
  void schedule_random_failure(std::uint32_t spec, std::uint32_t host, Time after);

  std::vector<FaultSpec> specs_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
  Rng rng_;
  std::uint64_t order_ = 0;
};

}  // namespace fulcrum
