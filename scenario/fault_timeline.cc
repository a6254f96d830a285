// Which fault timelines can happen. A timeline that contradicts itself (a host crashing
// while it is already down, a leader killed before a standby has taken over) has no meaning
// to simulate; the loader refuses it, naming both entries, so that the author sees the
// contradiction in the file rather than in odd results.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>
#include <tuple>

#include "scenario/loader.h"

namespace fulcrum {
namespace scenario_detail {

// Matches host_name()'s shapes without expanding every name.
int group_of_host(const std::vector<HostGroup>& groups, std::string_view name) {
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const HostGroup& h = groups[g];
    const std::string_view base = h.name.empty() ? std::string_view("w") : std::string_view(h.name);
    if (h.count == 1) {
      if (name == base) return static_cast<int>(g);
      continue;
    }
    if (name.size() <= base.size() + 1 || name.substr(0, base.size()) != base || name[base.size()] != '-') continue;
    const std::string_view digits = name.substr(base.size() + 1);
    if (digits[0] < '0' || digits[0] > '9' || (digits.size() > 1 && digits[0] == '0')) continue;
    int i = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), i);
    if (ec == std::errc() && ptr == digits.data() + digits.size() && i < h.count) return static_cast<int>(g);
  }
  return -1;
}

// Where a crash entry strikes, to tell whether two of them must hit a common host.
struct CrashTarget {
  std::string host;         // one of host and group, or neither for a fraction
  std::string group;
  double fraction = 0;
  int host_group = -1;      // group form: the group that holds `host`
  std::uint64_t count = 0;  // group form: how many hosts it strikes
};

namespace {

CrashTarget crash_target(const FaultSpec& f, const ClusterSpec& cluster, std::uint64_t total) {
  CrashTarget t{f.host, f.group, f.fraction, -1, 0};
  if (cluster.groups.empty()) return t;
  if (!f.host.empty()) {
    t.host_group = group_of_host(cluster.groups, f.host);
    t.count = 1;
  } else if (!f.group.empty()) {
    for (const HostGroup& h : cluster.groups) {
      if ((h.name.empty() ? "w" : h.name) == f.group) t.count += static_cast<std::uint64_t>(h.count);
    }
  } else {
    // As FaultTimeline draws them: ceil(fraction x n) hosts.
    const double k = std::ceil(f.fraction * static_cast<double>(total) - 1e-9);
    t.count = std::min(total, static_cast<std::uint64_t>(std::max(k, 0.0)));
  }
  return t;
}

std::string target_text(const CrashTarget& t) {
  if (!t.host.empty()) return "host '" + t.host + "'";
  if (!t.group.empty()) return "the hosts of group '" + t.group + "'";
  return "at least one host";
}

// What two crash entries certainly both strike ("" if they may miss each other: with a
// platform file only names are known, and fractions are drawn by the seed).
std::string common_hosts(const CrashTarget& a, const CrashTarget& b, const ClusterSpec& cluster,
                         std::uint64_t total) {
  const bool group_form = !cluster.groups.empty();
  if (!a.host.empty() && !b.host.empty()) return a.host == b.host ? target_text(a) : "";
  if (!a.group.empty() && !b.group.empty()) return a.group == b.group ? target_text(a) : "";
  if (!a.host.empty() && !b.group.empty()) {
    return group_form && a.host_group >= 0 && cluster.groups[static_cast<std::size_t>(a.host_group)].name == b.group
               ? target_text(a) : "";
  }
  if (!a.group.empty() && !b.host.empty()) return common_hosts(b, a, cluster, total);
  // At least one is a fraction: by counting, or, without counts, when one is every host.
  if (group_form) {
    if (a.count + b.count <= total) return "";
    return a.fraction > 0 ? target_text(b) : target_text(a);
  }
  const bool a_fraction = a.host.empty() && a.group.empty();
  const bool b_fraction = b.host.empty() && b.group.empty();
  if (a_fraction && b_fraction) return a.fraction + b.fraction > 1 ? target_text(a) : "";
  if (a_fraction && a.fraction >= 1) return target_text(b);
  if (b_fraction && b.fraction >= 1) return target_text(a);
  return "";
}

// Whether crash entry `a` (the `ia`-th) holds a host down at the moment of the event
// keyed (time, entry, 0 crash / 1 recovery): the timeline orders events by time, then by
// entry, and an entry's crash before its recovery.
using EventKey = std::tuple<double, std::size_t, int>;
double recovery_time(const FaultSpec& a) { return a.recover_after >= 0 ? a.at + a.recover_after : kNever; }
bool holds_down(const FaultSpec& a, std::size_t ia, const EventKey& k) {
  return EventKey{a.at, ia, 0} < k && k < EventKey{recovery_time(a), ia, 1};
}

std::string down_text(const FaultSpec& a) {
  return "down from " + number_text(a.at) +
         (a.recover_after >= 0 ? " to " + number_text(recovery_time(a)) : " for good");
}

}  // namespace

TimelineCheck::TimelineCheck(const Loader& loader, const ClusterSpec& cluster, const RecoverySpec& recovery)
    : loader_(loader), cluster_(cluster), recovery_(recovery) {
  for (const HostGroup& h : cluster.groups) total_ += static_cast<std::uint64_t>(h.count);
}

TimelineCheck::~TimelineCheck() = default;

// "faults[1] (line 12)", or the override that wrote the entry.
std::string TimelineCheck::entry_ref(const Field& entry) const {
  if (const AppliedOverride* o = loader_.override_of(entry.path)) return entry.path + " (--set " + o->text + ")";
  if (entry.mark.is_null()) return entry.path;
  return entry.path + " (line " + std::to_string(entry.mark.line + 1) + ")";
}

void TimelineCheck::add(const FaultSpec& spec, const Field& e) {
  const std::size_t i = specs_.size();
  const CrashTarget target = crash_target(spec, cluster_, total_);
  for (std::size_t j = 0; j < i; ++j) {
    const FaultSpec& other = specs_[j];
    if (spec.kind == FaultSpec::Kind::kCrash && other.kind == FaultSpec::Kind::kCrash &&
        (holds_down(other, j, EventKey{spec.at, i, 0}) || holds_down(spec, i, EventKey{other.at, j, 0}))) {
      const std::string common = common_hosts(target, targets_[j], cluster_, total_);
      if (!common.empty()) {
        loader_.fail(e, e.path,
                     "crashes " + common + " (" + down_text(spec) + ") while " + entry_ref(entries_[j]) +
                         " has it " + down_text(other) + "; a host that is down cannot crash again");
      }
    }
    if (spec.kind == FaultSpec::Kind::kLeaderKill && other.kind == FaultSpec::Kind::kLeaderKill &&
        std::fabs(spec.at - other.at) <= recovery_.election_delay) {
      loader_.fail(e, e.path,
                   "leader_kill at " + number_text(spec.at) + " is within recovery.election_delay (" +
                       number_text(recovery_.election_delay) + ") of the leader_kill of " + entry_ref(entries_[j]) +
                       " at " + number_text(other.at) +
                       ": no standby leads yet; space leader kills more than election_delay apart");
    }
  }
  specs_.push_back(spec);
  entries_.push_back(e);
  targets_.push_back(target);
}

}  // namespace scenario_detail
}  // namespace fulcrum
