// The `faults:` list: reading each entry by its kind, so that a kind's missing or
// inapplicable key is refused with its line, and host and group names are checked against
// the cluster before the simulator ever sees them. Whether the entries can happen together
// is fault_timeline.cc's question.
#include "scenario/loader.h"

namespace fulcrum {
namespace scenario_detail {
namespace {

// A cap that keeps the pairwise timeline checks quick; kind random describes many
// failures in one entry.
constexpr std::size_t kMaxFaults = 10'000;

// "fast-0..fast-7, slow-0..slow-7, master", shortened after a few groups.
std::string host_listing(const std::vector<HostGroup>& groups) {
  std::string out;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (g == 6) return out + ", ...";
    const HostGroup& h = groups[g];
    out += (out.empty() ? "" : ", ") +
           (h.count == 1 ? host_name(h, 0) : host_name(h, 0) + ".." + host_name(h, h.count - 1));
  }
  return out;
}

// The distinct group names, in order, shortened after a few.
std::string group_listing(const std::vector<HostGroup>& groups) {
  std::vector<std::string> names;
  for (const HostGroup& h : groups) {
    const std::string name = h.name.empty() ? "w" : h.name;
    bool seen = false;
    for (const std::string& n : names) seen = seen || n == name;
    if (!seen) names.push_back(name);
  }
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i == 10) return out + ", ...";
    out += (out.empty() ? "" : ", ") + names[i];
  }
  return out;
}

}  // namespace

std::vector<FaultSpec> Loader::faults(const Field& f, const ClusterSpec& cluster, const RecoverySpec& recovery) const {
  if (!f.node.IsSequence()) {
    fail(f, "must be a list of faults such as [{kind: crash, host: w-0, at: 10}], got " + describe(f.node));
  }
  if (f.node.size() > kMaxFaults) {
    fail(f, "too many faults: " + std::to_string(f.node.size()) + ", at most " + std::to_string(kMaxFaults) +
                " (kind random describes many failures in one entry)");
  }
  TimelineCheck timeline(*this, cluster, recovery);
  std::vector<FaultSpec> specs;
  for (std::size_t i = 0; i < f.node.size(); ++i) {
    const Field e = list_entry(f, i, f.node[i]);
    for (const FaultSpec& spec : fault(e, cluster)) {
      timeline.add(spec, e);
      specs.push_back(spec);
    }
  }
  return specs;
}

std::vector<FaultSpec> Loader::fault(const Field& f, const ClusterSpec& cluster) const {
  using K = FaultSpec::Kind;
  const MapReader m(*this, f, "{kind: crash, host: w-0, at: 10}");
  struct KindInfo {
    const char* name;
    K kind;
    bool target;  // needs host, group or fraction
    std::vector<std::string_view> keys;
  };
  const KindInfo kinds[] = {
      {"crash", K::kCrash, true, {"kind", "host", "group", "fraction", "at", "recover_after"}},
      {"slowdown", K::kSlowdown, true, {"kind", "host", "group", "fraction", "at", "factor", "duration"}},
      {"link", K::kLink, true, {"kind", "host", "group", "fraction", "at", "duration", "cut", "factor"}},
      {"pause", K::kPause, true, {"kind", "host", "group", "fraction", "at", "duration"}},
      {"leader_kill", K::kLeaderKill, false, {"kind", "at"}},
      {"random", K::kRandom, false, {"kind", "host", "group", "fraction", "at", "mtbf", "mttr", "until"}},
  };
  std::string known;
  for (const KindInfo& k : kinds) known += (known.empty() ? "" : ", ") + std::string(k.name);
  known += ", zone_outage";
  const std::optional<Field> kind_field = m.get("kind");
  if (!kind_field) fail(f, "missing required key 'kind' (one of " + known + ")");
  const std::string name = text(*kind_field);
  if (name == "zone_outage") return zone_outage(f, m, cluster);
  const KindInfo* kind = nullptr;
  for (const KindInfo& k : kinds) {
    if (name == k.name) kind = &k;
  }
  if (!kind) fail(*kind_field, "unknown fault kind '" + name + "' (known: " + known + ")");
  if (auto extra = m.first_not_in(kind->keys, "kind")) {
    fail(extra->second, f.path,
         "key '" + std::string(extra->first) + "' does not apply to kind " + name + " (its keys: " +
             listing(kind->keys) + ")");
  }

  FaultSpec spec;
  spec.kind = kind->kind;
  // Its line, unless an override wrote the whole entry.
  spec.line = f.mark.is_null() || override_of(f.path) ? 0 : f.mark.line + 1;

  // The target: at most one of host, group and fraction.
  const std::optional<Field> host = m.get("host");
  const std::optional<Field> group = m.get("group");
  const std::optional<Field> fraction = m.get("fraction");
  if (int(bool(host)) + int(bool(group)) + int(bool(fraction)) > 1) {
    const Field& second = host && group ? *group : *fraction;
    fail(second, f.path, "give one target: host, group or fraction, not several");
  }
  if (kind->target && !host && !group && !fraction) {
    fail(f, "kind " + name + " needs a target: host, group or fraction");
  }
  const bool group_form = !cluster.groups.empty();
  if (host) {
    spec.host = text(*host);
    if (spec.host.empty()) fail(*host, "must be a host name, got \"\"");
    // With a platform file the simulator checks the name once it has read the platform.
    if (group_form && group_of_host(cluster.groups, spec.host) < 0) {
      fail(*host, "unknown host '" + spec.host + "' (hosts are " + host_listing(cluster.groups) + ")");
    }
  }
  if (group) {
    spec.group = text(*group);
    if (spec.group.empty()) fail(*group, "must be a group name, got \"\"");
    bool found = !group_form;
    for (const HostGroup& h : cluster.groups) found = found || (h.name.empty() ? "w" : h.name) == spec.group;
    if (!found) fail(*group, "unknown group '" + spec.group + "' (groups are " + group_listing(cluster.groups) + ")");
  }
  if (fraction) {
    spec.fraction = number(*fraction, "a fraction of the hosts, 0 < F <= 1", [](double x) { return x > 0 && x <= 1; });
  }

  const auto positive = [](double x) { return x > 0; };
  constexpr const char* kPositive = "a positive number of seconds";
  const auto above_one = [](double x) { return x > 1; };
  const std::optional<Field> at = m.get("at");
  if (at) {
    spec.at = number(*at, "a number of seconds >= 0", [](double x) { return x >= 0; });
  } else if (kind->kind != K::kRandom) {
    m.require("at");
  }
  switch (kind->kind) {
    case K::kCrash:
      if (auto v = m.get("recover_after")) spec.recover_after = number(*v, kPositive, positive);
      break;
    case K::kSlowdown:
      spec.factor = number(m.require("factor"), "a number > 1 (tasks take factor times longer)", above_one);
      spec.duration = number(m.require("duration"), kPositive, positive);
      break;
    case K::kLink: {
      spec.duration = number(m.require("duration"), kPositive, positive);
      if (auto v = m.get("cut")) spec.cut = boolean(*v);
      const std::optional<Field> factor = m.get("factor");
      if (spec.cut && factor) fail(*factor, f.path, "give either cut: true or factor, not both");
      if (!spec.cut && !factor) {
        fail(f, "kind link needs cut: true (the link is down) or factor (> 1: latency x factor)");
      }
      if (factor) spec.factor = number(*factor, "a number > 1 (latency x factor)", above_one);
      break;
    }
    case K::kPause:
      spec.duration = number(m.require("duration"), kPositive, positive);
      break;
    case K::kLeaderKill:
      break;
    case K::kRandom:
      spec.mtbf = number(m.require("mtbf"), "a positive number of seconds (mean time between failures)", positive);
      spec.mttr = number(m.require("mttr"), "a positive number of seconds (mean time to repair)", positive);
      if (auto v = m.get("until")) {
        spec.until = number(*v, kPositive, positive);
        if (!(spec.until > spec.at)) {
          fail(*v, "must be greater than at (" + number_text(spec.at) + "), got " + describe(v->node));
        }
      }
      break;
  }
  return {spec};
}

// {kind: zone_outage, zone: eu, at: 100, duration: 60, mode: crash | partition}: every host
// of the zone crashes (and recovers after the duration) or has its link cut for the
// duration, as one crash or link fault per host group of the zone. With a platform file a
// zone is a group (its hosts' group is their zone's name), which the simulator checks.
std::vector<FaultSpec> Loader::zone_outage(const Field& f, const MapReader& m, const ClusterSpec& cluster) const {
  const std::vector<std::string_view> keys = {"kind", "zone", "at", "duration", "mode"};
  if (auto extra = m.first_not_in(keys, "kind")) {
    fail(extra->second, f.path,
         "key '" + std::string(extra->first) + "' does not apply to kind zone_outage (its keys: " + listing(keys) + ")");
  }
  FaultSpec spec;
  spec.line = f.mark.is_null() || override_of(f.path) ? 0 : f.mark.line + 1;
  const Field zone = m.require("zone");
  spec.zone = name_value(zone, "a zone");
  spec.at = number(m.require("at"), "a number of seconds >= 0", [](double x) { return x >= 0; });
  const double duration = number(m.require("duration"), "a positive number of seconds", [](double x) { return x > 0; });
  bool partition = false;
  if (auto v = m.get("mode")) {
    const std::string mode = text(*v);
    if (mode != "crash" && mode != "partition") fail(*v, "must be crash or partition, got " + describe(v->node));
    partition = mode == "partition";
  }
  if (partition) {
    spec.kind = FaultSpec::Kind::kLink;
    spec.cut = true;
    spec.duration = duration;
  } else {
    spec.kind = FaultSpec::Kind::kCrash;
    spec.recover_after = duration;
  }
  if (cluster.groups.empty()) {  // a platform file: its zones are its groups
    spec.group = spec.zone;
    return {spec};
  }
  const std::vector<std::string> zones = cluster.zone_names();
  bool known = false;
  std::string names;
  for (const std::string& z : zones) {
    known = known || z == spec.zone;
    names += (names.empty() ? "" : ", ") + z;
  }
  if (!known) {
    fail(zone, "unknown zone '" + spec.zone + "' (" +
                   (zones.empty() ? std::string("the cluster has no zones: give host groups zone: NAME")
                                  : "the cluster's zones are " + names) +
                   ")");
  }
  // A group whose name another group outside the zone shares is targeted host by host.
  std::vector<FaultSpec> out;
  for (const HostGroup& g : cluster.groups) {
    if (g.zone != spec.zone) continue;
    const std::string group = g.name.empty() ? "w" : g.name;
    bool shared = false;
    for (const HostGroup& other : cluster.groups) {
      shared = shared || (other.zone != spec.zone && (other.name.empty() ? "w" : other.name) == group);
    }
    if (!shared) {
      FaultSpec s = spec;
      s.group = group;
      out.push_back(std::move(s));
      continue;
    }
    for (int i = 0; i < g.count; ++i) {
      FaultSpec s = spec;
      s.host = host_name(g, i);
      out.push_back(std::move(s));
    }
  }
  if (out.empty()) fail(zone, "zone '" + spec.zone + "' has no hosts (no host group has zone: " + spec.zone + ")");
  return out;
}


}  // namespace scenario_detail
}  // namespace fulcrum
