#include "model/faults.h"

#include <algorithm>
#include <cmath>

namespace fulcrum {

std::string to_string(FaultSpec::Kind kind) {
  switch (kind) {
    case FaultSpec::Kind::kCrash: return "crash";
    case FaultSpec::Kind::kSlowdown: return "slowdown";
    case FaultSpec::Kind::kLink: return "link";
    case FaultSpec::Kind::kPause: return "pause";
    case FaultSpec::Kind::kLeaderKill: return "leader_kill";
    case FaultSpec::Kind::kRandom: return "random";
  }
  return "?";
}

std::string to_string(FaultEvent::Kind kind) {
  switch (kind) {
    case FaultEvent::Kind::kCrash: return "crash";
    case FaultEvent::Kind::kRecover: return "recover";
    case FaultEvent::Kind::kSlowStart: return "slowdown_start";
    case FaultEvent::Kind::kSlowEnd: return "slowdown_end";
    case FaultEvent::Kind::kLinkStart: return "link_start";
    case FaultEvent::Kind::kLinkEnd: return "link_end";
    case FaultEvent::Kind::kPauseStart: return "pause_start";
    case FaultEvent::Kind::kPauseEnd: return "pause_end";
    case FaultEvent::Kind::kLeaderKill: return "leader_kill";
  }
  return "?";
}

FaultTimeline::FaultTimeline(const std::vector<FaultSpec>& specs, const std::vector<std::string>& host_names,
                             const std::vector<std::string>& host_groups, std::uint64_t seed)
    : specs_(specs), rng_(seed, /*stream=*/3) {
  using K = FaultEvent::Kind;
  for (std::uint32_t s = 0; s < specs_.size(); ++s) {
    const FaultSpec& f = specs_[s];
    if (f.kind == FaultSpec::Kind::kLeaderKill) {
      push({f.at, K::kLeaderKill, 0, 1, false, s});
      continue;
    }
    std::vector<std::uint32_t> targets;
    if (!f.host.empty()) {
      for (std::uint32_t h = 0; h < host_names.size(); ++h) {
        if (host_names[h] == f.host) targets.push_back(h);
      }
    } else if (!f.group.empty()) {
      for (std::uint32_t h = 0; h < host_groups.size(); ++h) {
        if (host_groups[h] == f.group) targets.push_back(h);
      }
    } else if (f.fraction > 0) {
      // A seeded partial Fisher-Yates: ceil(fraction x n) distinct hosts.
      std::vector<std::uint32_t> all(host_names.size());
      for (std::uint32_t h = 0; h < all.size(); ++h) all[h] = h;
      const auto k = static_cast<std::size_t>(std::ceil(f.fraction * static_cast<double>(all.size()) - 1e-9));
      for (std::size_t i = 0; i < k && i < all.size(); ++i) {
        std::swap(all[i], all[i + rng_.uniform_int(all.size() - i)]);
        targets.push_back(all[i]);
      }
      std::sort(targets.begin(), targets.end());
    } else {
      for (std::uint32_t h = 0; h < host_names.size(); ++h) targets.push_back(h);
    }
    for (std::uint32_t h : targets) {
      switch (f.kind) {
        case FaultSpec::Kind::kCrash:
          push({f.at, K::kCrash, h, 1, false, s});
          if (f.recover_after >= 0) push({f.at + f.recover_after, K::kRecover, h, 1, false, s});
          break;
        case FaultSpec::Kind::kSlowdown:
          push({f.at, K::kSlowStart, h, f.factor, false, s});
          push({f.at + f.duration, K::kSlowEnd, h, 1, false, s});
          break;
        case FaultSpec::Kind::kLink:
          push({f.at, K::kLinkStart, h, f.factor, f.cut, s});
          push({f.at + f.duration, K::kLinkEnd, h, 1, f.cut, s});
          break;
        case FaultSpec::Kind::kPause:
          push({f.at, K::kPauseStart, h, 1, false, s});
          push({f.at + f.duration, K::kPauseEnd, h, 1, false, s});
          break;
        case FaultSpec::Kind::kRandom:
          schedule_random_failure(s, h, f.at);
          break;
        case FaultSpec::Kind::kLeaderKill:
          break;
      }
    }
  }
}

void FaultTimeline::push(const FaultEvent& e) { heap_.push(Entry{e, order_++}); }

void FaultTimeline::schedule_random_failure(std::uint32_t s, std::uint32_t host, Time after) {
  const FaultSpec& f = specs_[s];
  const Time at = after + rng_.exponential(f.mtbf);
  if (at > f.until) return;
  push({at, FaultEvent::Kind::kCrash, host, 1, false, s});
  // The matching recovery is pushed now; the next failure is drawn when it is taken.
  push({at + rng_.exponential(f.mttr), FaultEvent::Kind::kRecover, host, 1, false, s});
}

bool FaultTimeline::next(FaultEvent& out) {
  if (heap_.empty()) return false;
  out = heap_.top().event;
  heap_.pop();
  if (out.kind == FaultEvent::Kind::kRecover && specs_[out.fault].kind == FaultSpec::Kind::kRandom) {
    schedule_random_failure(out.fault, out.host, out.time);
  }
  return true;
}

}  // namespace fulcrum
