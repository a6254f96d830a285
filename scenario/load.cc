#include "scenario/load.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "policies/registry.h"

namespace fulcrum {
namespace {

constexpr std::string_view kDefaultScenario = R"yaml(# fulcrum's built-in demo scenario.
#
# A heterogeneous cluster, so that load-balancing policies visibly differ: 8 fast hosts
# (2 cores at 2 Gflop/s each) and 8 slow ones (1 core at 1 Gflop/s), 40 Gflop/s in all.
# Poisson arrivals of exponentially sized tasks (mean 1 Gflop) at 32 tasks/s offer
# 32 Gflop/s: 80% load. Hosts are named fast-0..fast-7 and slow-0..slow-7.
seed: 42
cluster:
  hosts:
    - {name: fast, count: 8, speed: 2e9, slots: 2}
    - {name: slow, count: 8, speed: 1e9, slots: 1}
  network: {latency: 0.0001, bandwidth: 1.25e9}   # per host link: 100 us, 10 Gbit/s
  queue_cap: -1                                   # unbounded local queues
workload:
  type: poisson
  rate: 32                                        # tasks per second
  size: {dist: exponential, mean: 1e9}            # flops per task
  tasks: 20000
policy: power_of_d:d=2
)yaml";

// Every key of the scenario, in one place: each YAML map the loader reads, by its schema
// path (a list's entries as "[]": "cluster.hosts[]", "faults[]"), with the keys it
// accepts, in the order messages list them. MapReader refuses any other key, and
// scenario_key_paths() exports the table, which scenario/tests/reference_test.cc checks
// against docs/scenario.md. A new key goes here, in its Loader function and on that page.
struct MapKeys {
  std::string_view path;
  std::vector<std::string_view> keys;
};

const std::vector<MapKeys>& scenario_maps() {
  static const std::vector<MapKeys> maps = {
      {"", {"seed", "cluster", "workload", "policy", "priority", "real", "recovery", "faults", "autoscale", "power"}},
      {"cluster", {"hosts", "platform", "network", "queue_cap", "scheduler_host"}},
      {"cluster.hosts[]", {"name", "count", "speed", "slots", "weight"}},
      {"cluster.network", {"latency", "bandwidth"}},
      {"workload",
       {"type", "rate", "size", "tasks", "file", "files", "reference_speed", "count", "interval", "first_job",
        "max_jobs", "time_scale", "runtime_scale", "max_procs", "rate_profile"}},
      // Every dist's keys; size() checks which ones the chosen dist takes.
      {"workload.size", {"dist", "value", "mean", "sigma", "low", "high", "alpha"}},
      {"workload.rate_profile", {"kind", "period", "amplitude", "at", "factor"}},
      {"real", {"task", "time_scale"}},
      {"recovery",
       {"heartbeat_interval", "suspect_after", "dead_after", "max_attempts", "retry_backoff", "task_timeout",
        "quarantine_after", "quarantine_window", "quarantine_for", "backlog_alert", "election_delay",
        "reconcile_grace"}},
      // Every kind's keys; fault() checks which ones the chosen kind takes.
      {"faults[]",
       {"kind", "host", "group", "fraction", "at", "recover_after", "duration", "factor", "cut", "mtbf", "mttr",
        "until"}},
      {"autoscale",
       {"metric", "target", "min", "max", "period", "window", "cooldown_out", "cooldown_in", "tolerance",
        "scale_in_after", "boot_delay", "initial"}},
      {"power", {"idle", "busy", "off"}},
  };
  return maps;
}

// A concrete path's schema path: "faults[3]" -> "faults[]", "cluster.hosts[0]" -> "cluster.hosts[]".
std::string schema_path(std::string_view path) {
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    out += path[i];
    if (path[i] == '[') {
      while (i + 1 < path.size() && path[i + 1] != ']') ++i;
    }
  }
  return out;
}

// The keys of the map at `path` (a concrete path). Every map the loader reads is in the
// table; a missing one is a bug in the loader, not in the input.
const std::vector<std::string_view>& keys_of(std::string_view path) {
  const std::string schema = schema_path(path);
  for (const MapKeys& m : scenario_maps()) {
    if (m.path == schema) return m.keys;
  }
  throw std::logic_error("scenario key table has no map '" + schema + "'");
}

// Bounds that keep validation (and total_hosts()'s int) sane on absurd input.
constexpr int kMaxHosts = 10'000'000;
constexpr int kMaxSlots = 1'000'000;
constexpr std::size_t kMaxFileBytes = std::size_t{64} << 20;

// The loader stops at the first problem. yaml-cpp reports through exceptions that must be
// caught at the API boundary anyway, so validation throws this there too rather than
// threading Expected through every field.
struct Invalid {
  std::string message;
};

// An override as applied, remembered so that errors in what it set name it, not a line.
struct AppliedOverride {
  std::string text;  // as given: "cluster.hosts.0.count=4"
  std::string path;  // canonical: "cluster.hosts[0].count"
};

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// True if `path` is `ancestor` or lies below it.
bool within(std::string_view path, std::string_view ancestor) {
  if (ancestor.empty() || path.substr(0, ancestor.size()) != ancestor) return false;
  return path.size() == ancestor.size() || path[ancestor.size()] == '.' ||
         path[ancestor.size()] == '[';
}

std::string line_of(const std::string& source, const YAML::Mark& mark) {
  return mark.is_null() ? source : source + ":" + std::to_string(mark.line + 1);
}

// A value for "got ..." in messages. Never walks into collections: aliases can make them
// cyclic.
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      std::string text = node.Scalar();
      if (text.size() > 60) text = text.substr(0, 57) + "...";
      return node.Tag() == "?" ? text : "\"" + text + "\"";
    }
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    default: return "no value";
  }
}

// Numbers are plain scalars (a quoted "80" is a string, as in YAML itself) that
// std::from_chars reads entirely.
std::optional<double> as_double(const YAML::Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  const std::string& tag = node.Tag();
  if (tag != "?" && tag != "tag:yaml.org,2002:float" && tag != "tag:yaml.org,2002:int") {
    return std::nullopt;
  }
  std::string_view text = node.Scalar();
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') text.remove_prefix(1);
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ptr != end) return std::nullopt;
  if (ec == std::errc::result_out_of_range) return HUGE_VAL;  // refused as not finite
  if (ec != std::errc()) return std::nullopt;
  return value;
}

// Integers may also be written as integral floats ("tasks: 1e5").
template <class Int>
std::optional<Int> as_integer(const YAML::Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  std::string_view text = node.Scalar();
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') text.remove_prefix(1);
  Int value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc() && ptr == end && as_double(node)) return value;
  const std::optional<double> d = as_double(node);
  // Int's range as exact doubles (powers of two), exclusive above.
  const double high = std::ldexp(1.0, std::numeric_limits<Int>::digits);
  const double low = std::is_signed_v<Int> ? -high : 0.0;
  if (!d || !std::isfinite(*d) || std::trunc(*d) != *d || *d < low || *d >= high) {
    return std::nullopt;
  }
  return static_cast<Int>(*d);
}

// A cap that keeps the pairwise timeline checks quick; kind random describes many
// failures in one entry.
constexpr std::size_t kMaxFaults = 10'000;

// A number as short as it reads back, for messages.
std::string number_text(double x) {
  char buffer[32];
  const auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof buffer, x);
  return ec == std::errc() ? std::string(buffer, ptr) : std::to_string(x);
}

// The index of the group that has a host named `name` (the loader keeps names unique),
// or -1. Matches host_name()'s shapes without expanding every name.
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

// Where a crash entry strikes, to tell whether two of them must hit a common host.
struct CrashTarget {
  std::string host;         // one of host and group, or neither for a fraction
  std::string group;
  double fraction = 0;
  int host_group = -1;      // group form: the group that holds `host`
  std::uint64_t count = 0;  // group form: how many hosts it strikes
};

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

// A node with the key path that leads to it and the line it is reported at.
struct Field {
  YAML::Node node;
  std::string path;
  // For a map entry, the key's mark: a missing value's own mark lies on the next line.
  YAML::Mark mark;
};

class Loader;

// A map whose keys are checked against its entry in scenario_maps(): unknown, duplicate
// and non-scalar keys are refused on construction.
class MapReader {
 public:
  MapReader(const Loader& loader, const Field& self, const std::string& example = "");

  std::optional<Field> get(std::string_view key) const;
  Field require(std::string_view key) const;
  const Field& self() const { return self_; }

 private:
  const Loader& loader_;
  Field self_;
  std::vector<std::pair<std::string, Field>> entries_;
};

class Loader {
 public:
  Loader(std::string source, std::vector<AppliedOverride> overrides)
      : source_(std::move(source)), overrides_(std::move(overrides)) {}

  Scenario load(const YAML::Node& root) const;

  // Reports a problem with `at`'s value, under the key path `path` (a map's path, for
  // problems with its keys).
  [[noreturn]] void fail(const Field& at, const std::string& path, const std::string& what) const {
    throw Invalid{where(at) + ": " + (path.empty() ? "" : path + ": ") + what};
  }
  [[noreturn]] void fail(const Field& at, const std::string& what) const {
    fail(at, at.path, what);
  }

  const AppliedOverride* override_of(const std::string& path) const {
    for (auto it = overrides_.rbegin(); it != overrides_.rend(); ++it) {
      if (within(path, it->path)) return &*it;  // the last one wins, as when applying
    }
    return nullptr;
  }

 private:
  // The override that set the value, else file:line, else the override that created the
  // map that holds the value, else just the file.
  std::string where(const Field& at) const {
    if (const AppliedOverride* o = override_of(at.path)) return source_ + " (--set " + o->text + ")";
    if (!at.mark.is_null() || at.path.empty()) return line_of(source_, at.mark);
    for (auto it = overrides_.rbegin(); it != overrides_.rend(); ++it) {
      if (within(it->path, at.path)) return source_ + " (--set " + it->text + ")";
    }
    return source_;
  }

  std::string text(const Field& f) const;
  std::string host_name_value(const Field& f) const;
  template <class Ok>
  double number(const Field& f, const char* requirement, Ok ok) const;
  template <class Int>
  Int integer(const Field& f, Int low, Int high, const char* requirement) const;

  ClusterSpec cluster(const Field& f) const;
  std::vector<HostGroup> host_groups(const Field& f) const;
  std::string platform_path(const Field& f) const;
  std::string existing_file(const Field& f, const std::string& what) const;
  TraceWorkload trace(const Field& f, const MapReader& m, const std::string& type) const;
  NetworkSpec network(const Field& f) const;
  SyntheticWorkload workload(const Field& f, TraceWorkload& trace_out) const;
  RealSpec real(const Field& f) const;
  RecoverySpec recovery(const Field& f) const;
  AutoscaleSpec autoscale(const Field& f, const ClusterSpec& cluster) const;
  PowerSpec power(const Field& f) const;
  RateProfile rate_profile(const Field& f) const;
  std::vector<FaultSpec> faults(const Field& f, const ClusterSpec& cluster, const RecoverySpec& recovery) const;
  FaultSpec fault(const Field& f, const ClusterSpec& cluster) const;
  bool boolean(const Field& f) const;
  std::string entry_ref(const Field& entry) const;
  SizeDistribution size(const Field& f) const;
  std::string policy(const Field& f) const;

  std::string source_;
  std::vector<AppliedOverride> overrides_;
};

MapReader::MapReader(const Loader& loader, const Field& self, const std::string& example)
    : loader_(loader), self_(self) {
  const std::vector<std::string_view>& known = keys_of(self.path);
  std::string names;
  for (std::string_view k : known) names += (names.empty() ? "" : ", ") + std::string(k);
  if (!self.node.IsMap()) {
    loader.fail(self, "must be a map" + (example.empty() ? " (keys: " + names + ")" : " such as " + example) +
                          ", got " + describe(self.node));
  }
  for (const auto& kv : self.node) {
    Field key{kv.first, self.path, kv.first.Mark()};
    if (!kv.first.IsScalar()) loader.fail(key, "keys must be names, got " + describe(kv.first));
    const std::string name = kv.first.Scalar();
    Field value{kv.second, join(self.path, name), kv.first.Mark()};
    bool is_known = false;
    for (std::string_view k : known) is_known = is_known || k == name;
    if (!is_known) loader.fail(value, self.path, "unknown key '" + name + "' (known: " + names + ")");
    for (const auto& [seen, unused] : entries_) {
      if (seen == name) loader.fail(value, self.path, "key '" + name + "' is given twice");
    }
    entries_.emplace_back(name, std::move(value));
  }
}

std::optional<Field> MapReader::get(std::string_view key) const {
  for (const auto& [name, field] : entries_) {
    if (name == key) return field;
  }
  return std::nullopt;
}

Field MapReader::require(std::string_view key) const {
  std::optional<Field> f = get(key);
  if (!f) loader_.fail(self_, "missing required key '" + std::string(key) + "'");
  return *f;
}

std::string Loader::text(const Field& f) const {
  if (!f.node.IsScalar()) fail(f, "must be a string, got " + describe(f.node));
  return f.node.Scalar();
}

// Host names end up in platform descriptions, logs and CSV files: keep them plain.
std::string Loader::host_name_value(const Field& f) const {
  std::string name = text(f);
  bool plain = !name.empty();
  for (char c : name) {
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '-');
  }
  if (!plain) fail(f, "must be a name of letters, digits, '_', '.' and '-', got " + describe(f.node));
  return name;
}

template <class Ok>
double Loader::number(const Field& f, const char* requirement, Ok ok) const {
  const std::optional<double> v = as_double(f.node);
  if (!v || !std::isfinite(*v) || !ok(*v)) {
    fail(f, std::string("must be ") + requirement + ", got " + describe(f.node));
  }
  return *v;
}

template <class Int>
Int Loader::integer(const Field& f, Int low, Int high, const char* requirement) const {
  const std::optional<Int> v = as_integer<Int>(f.node);
  const std::optional<double> d = as_double(f.node);
  const bool too_big = v ? *v > high : d && std::isfinite(*d) && std::trunc(*d) == *d && *d > high;
  if (too_big) fail(f, "must be at most " + std::to_string(high) + ", got " + describe(f.node));
  if (!v || *v < low) fail(f, std::string("must be ") + requirement + ", got " + describe(f.node));
  return *v;
}

Scenario Loader::load(const YAML::Node& root) const {
  const Field top{root, "", root.Mark()};
  if (root.IsNull()) fail(top, "the scenario is empty; it needs at least cluster and workload");
  if (!root.IsMap()) {
    fail(top, "a scenario is a map of seed, cluster, workload and policy, got " + describe(root));
  }
  const MapReader m(*this, top);
  Scenario s;
  s.source = source_;
  if (auto f = m.get("seed")) {
    s.seed = integer<std::uint64_t>(*f, 0, UINT64_MAX, "a non-negative integer");
  }
  s.cluster = cluster(m.require("cluster"));
  s.workload = workload(m.require("workload"), s.trace);
  if (auto f = m.get("policy")) s.policy = policy(*f);
  if (auto f = m.get("priority")) {
    s.priority = text(*f);
    if (s.priority != "fifo" && s.priority != "critical_path" && s.priority != "random") {
      fail(*f, "must be fifo, critical_path or random, got " + describe(f->node));
    }
  }
  if (auto f = m.get("real")) s.real = real(*f);
  if (auto f = m.get("recovery")) s.recovery = recovery(*f);
  if (auto f = m.get("faults")) s.faults = faults(*f, s.cluster, s.recovery);
  if (auto f = m.get("autoscale")) s.autoscale = autoscale(*f, s.cluster);
  if (auto f = m.get("power")) s.power = power(*f);
  return s;
}

AutoscaleSpec Loader::autoscale(const Field& f, const ClusterSpec& cluster) const {
  const MapReader m(*this, f, "{metric: utilisation, target: 0.7, min: 2, max: 16}");
  AutoscaleSpec a;
  a.enabled = true;
  const auto positive = [](double x) { return x > 0; };
  const auto non_negative = [](double x) { return x >= 0; };
  if (auto v = m.get("metric")) {
    a.metric = text(*v);
    if (a.metric != "utilisation" && a.metric != "backlog") {
      fail(*v, "must be utilisation or backlog, got " + describe(v->node));
    }
  }
  if (auto v = m.get("target")) {
    a.target = a.metric == "utilisation"
                   ? number(*v, "a utilisation, 0 < target <= 1", [](double x) { return x > 0 && x <= 1; })
                   : number(*v, "a positive number of tasks per slot", positive);
  }
  std::uint64_t hosts = 0;
  for (const HostGroup& h : cluster.groups) hosts += static_cast<std::uint64_t>(h.count);
  const std::uint32_t most = hosts > 0 ? static_cast<std::uint32_t>(std::min<std::uint64_t>(hosts, UINT32_MAX))
                                       : UINT32_MAX;  // a platform's hosts are checked by the simulator
  const std::string hosts_text = hosts > 0 ? " (the cluster has " + std::to_string(hosts) + " hosts)" : "";
  if (auto v = m.get("min")) a.min = integer<std::uint32_t>(*v, 1, most, ("a positive integer" + hosts_text).c_str());
  a.max = hosts > 0 ? most : 0;
  if (auto v = m.get("max")) {
    a.max = integer<std::uint32_t>(*v, 1, most, "a positive integer");
    if (a.max < a.min) fail(*v, "must be at least min (" + std::to_string(a.min) + "), got " + describe(v->node));
  } else if (a.max > 0 && a.max < a.min) {
    fail(m.require("min"), "must be at most the number of hosts" + hosts_text + ", got " + std::to_string(a.min));
  }
  if (auto v = m.get("period")) a.period = number(*v, "a positive number of seconds", positive);
  a.window = std::max(a.window, a.period);
  if (auto v = m.get("window")) {
    a.window = number(*v, "a number of seconds >= period", [&](double x) { return x >= a.period; });
  }
  if (auto v = m.get("cooldown_out")) a.cooldown_out = number(*v, "a number of seconds >= 0", non_negative);
  if (auto v = m.get("cooldown_in")) a.cooldown_in = number(*v, "a number of seconds >= 0", non_negative);
  if (auto v = m.get("tolerance")) a.tolerance = number(*v, "a fraction, 0 <= tolerance < 1", [](double x) { return x >= 0 && x < 1; });
  if (auto v = m.get("scale_in_after")) a.scale_in_after = integer<std::uint32_t>(*v, 1, 1000000, "a positive integer");
  if (auto v = m.get("boot_delay")) a.boot_delay = number(*v, "a number of seconds >= 0", non_negative);
  a.initial = a.min;
  if (auto v = m.get("initial")) {
    a.initial = integer<std::uint32_t>(*v, 1, a.max > 0 ? a.max : UINT32_MAX, "a positive integer, at most max");
    if (a.initial < a.min) fail(*v, "must be at least min (" + std::to_string(a.min) + "), got " + describe(v->node));
  }
  return a;
}

PowerSpec Loader::power(const Field& f) const {
  const MapReader m(*this, f, "{idle: 100, busy: 200, off: 5}");
  PowerSpec p;
  p.given = true;
  const auto non_negative = [](double x) { return x >= 0; };
  if (auto v = m.get("idle")) p.idle = number(*v, "a number of watts >= 0", non_negative);
  if (auto v = m.get("busy")) p.busy = number(*v, "a number of watts >= 0", non_negative);
  if (auto v = m.get("off")) p.off = number(*v, "a number of watts >= 0", non_negative);
  if (!(p.busy >= p.idle)) fail(m.require("busy"), "must be at least idle (" + number_text(p.idle) + ")");
  return p;
}

RealSpec Loader::real(const Field& f) const {
  const MapReader m(*this, f, "{task: sleep, time_scale: 0.01}");
  RealSpec r;
  if (auto t = m.get("task")) {
    r.task = text(*t);
    if (r.task != "sleep" && r.task != "burn") fail(*t, "must be sleep or burn, got " + describe(t->node));
  }
  if (auto t = m.get("time_scale")) {
    r.time_scale = number(*t, "a positive number of wall seconds per scenario second", [](double x) { return x > 0; });
  }
  return r;
}

RecoverySpec Loader::recovery(const Field& f) const {
  const MapReader m(*this, f);
  RecoverySpec r;
  const auto positive = [](double x) { return x > 0; };
  const auto non_negative = [](double x) { return x >= 0; };
  const auto seconds = [&](std::string_view key, double& out, bool zero_ok, const char* note = "") {
    const std::optional<Field> v = m.get(key);
    if (!v) return;
    const std::string requirement =
        std::string(zero_ok ? "a number of seconds >= 0" : "a positive number of seconds") + note;
    out = zero_ok ? number(*v, requirement.c_str(), non_negative) : number(*v, requirement.c_str(), positive);
  };
  seconds("heartbeat_interval", r.heartbeat_interval, false);
  seconds("suspect_after", r.suspect_after, false);
  seconds("dead_after", r.dead_after, false);
  if (auto v = m.get("max_attempts")) {
    r.max_attempts = integer<std::uint32_t>(*v, 1, UINT32_MAX, "a positive integer");
  }
  seconds("retry_backoff", r.retry_backoff, true);
  seconds("task_timeout", r.task_timeout, true, " (0: none)");
  if (auto v = m.get("quarantine_after")) {
    r.quarantine_after = integer<std::uint32_t>(*v, 1, UINT32_MAX, "a positive integer");
  }
  seconds("quarantine_window", r.quarantine_window, false);
  seconds("quarantine_for", r.quarantine_for, true);
  if (auto v = m.get("backlog_alert")) {
    r.backlog_alert = integer<std::uint64_t>(*v, 0, UINT64_MAX, "an integer >= 0 (0: never)");
  }
  seconds("election_delay", r.election_delay, true);
  seconds("reconcile_grace", r.reconcile_grace, true);
  if (!(r.dead_after > r.suspect_after)) {
    if (auto d = m.get("dead_after")) {
      fail(*d, "must be greater than suspect_after (" + number_text(r.suspect_after) + "), got " + describe(d->node));
    }
    const Field s = m.require("suspect_after");
    fail(s, "must be less than dead_after (" + number_text(r.dead_after) + ", the default), got " + describe(s.node));
  }
  return r;
}

bool Loader::boolean(const Field& f) const {
  if (f.node.IsScalar() && (f.node.Tag() == "?" || f.node.Tag() == "tag:yaml.org,2002:bool")) {
    const std::string& t = f.node.Scalar();
    if (t == "true" || t == "True" || t == "TRUE") return true;
    if (t == "false" || t == "False" || t == "FALSE") return false;
  }
  fail(f, "must be true or false, got " + describe(f.node));
}

// "faults[1] (line 12)", or the override that wrote the entry.
std::string Loader::entry_ref(const Field& entry) const {
  if (const AppliedOverride* o = override_of(entry.path)) return entry.path + " (--set " + o->text + ")";
  if (entry.mark.is_null()) return entry.path;
  return entry.path + " (line " + std::to_string(entry.mark.line + 1) + ")";
}

std::vector<FaultSpec> Loader::faults(const Field& f, const ClusterSpec& cluster, const RecoverySpec& recovery) const {
  if (!f.node.IsSequence()) {
    fail(f, "must be a list of faults such as [{kind: crash, host: w-0, at: 10}], got " + describe(f.node));
  }
  if (f.node.size() > kMaxFaults) {
    fail(f, "too many faults: " + std::to_string(f.node.size()) + ", at most " + std::to_string(kMaxFaults) +
                " (kind random describes many failures in one entry)");
  }
  std::uint64_t total = 0;
  for (const HostGroup& h : cluster.groups) total += static_cast<std::uint64_t>(h.count);

  std::vector<FaultSpec> specs;
  std::vector<Field> entries;
  std::vector<CrashTarget> targets;  // per entry; used for crashes only
  for (const YAML::Node& item : f.node) {
    const std::size_t i = specs.size();
    const Field e{item, f.path + "[" + std::to_string(i) + "]", item.Mark()};
    const FaultSpec spec = fault(e, cluster);
    const CrashTarget target = crash_target(spec, cluster, total);
    // The timeline must be possible: a host that is down cannot crash again, and a
    // leader_kill needs a leader.
    for (std::size_t j = 0; j < i; ++j) {
      const FaultSpec& other = specs[j];
      if (spec.kind == FaultSpec::Kind::kCrash && other.kind == FaultSpec::Kind::kCrash &&
          (holds_down(other, j, EventKey{spec.at, i, 0}) || holds_down(spec, i, EventKey{other.at, j, 0}))) {
        const std::string common = common_hosts(target, targets[j], cluster, total);
        if (!common.empty()) {
          fail(e, e.path,
               "crashes " + common + " (" + down_text(spec) + ") while " + entry_ref(entries[j]) + " has it " +
                   down_text(other) + "; a host that is down cannot crash again");
        }
      }
      if (spec.kind == FaultSpec::Kind::kLeaderKill && other.kind == FaultSpec::Kind::kLeaderKill &&
          std::fabs(spec.at - other.at) <= recovery.election_delay) {
        fail(e, e.path,
             "leader_kill at " + number_text(spec.at) + " is within recovery.election_delay (" +
                 number_text(recovery.election_delay) + ") of the leader_kill of " + entry_ref(entries[j]) + " at " +
                 number_text(other.at) + ": no standby leads yet; space leader kills more than election_delay apart");
      }
    }
    specs.push_back(spec);
    entries.push_back(e);
    targets.push_back(target);
  }
  return specs;
}

FaultSpec Loader::fault(const Field& f, const ClusterSpec& cluster) const {
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
  const std::optional<Field> kind_field = m.get("kind");
  if (!kind_field) fail(f, "missing required key 'kind' (one of " + known + ")");
  const std::string name = text(*kind_field);
  const KindInfo* kind = nullptr;
  for (const KindInfo& k : kinds) {
    if (name == k.name) kind = &k;
  }
  if (!kind) fail(*kind_field, "unknown fault kind '" + name + "' (known: " + known + ")");
  std::string takes;
  for (std::string_view k : kind->keys) takes += (takes.empty() ? "" : ", ") + std::string(k);
  for (std::string_view k : keys_of(f.path)) {
    if (k == "kind") continue;
    bool allowed = false;
    for (std::string_view a : kind->keys) allowed = allowed || a == k;
    if (auto v = m.get(k); v && !allowed) {
      fail(*v, f.path, "key '" + std::string(k) + "' does not apply to kind " + name + " (its keys: " + takes + ")");
    }
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
  return spec;
}

ClusterSpec Loader::cluster(const Field& f) const {
  const MapReader m(*this, f);
  ClusterSpec c;
  const std::optional<Field> hosts = m.get("hosts");
  const std::optional<Field> platform = m.get("platform");
  if (hosts && platform) fail(*platform, f.path, "give either hosts or platform, not both");
  if (!hosts && !platform) {
    fail(f, "needs hosts (a list of host groups) or platform (a SimGrid platform file)");
  }
  if (hosts) c.groups = host_groups(*hosts);
  if (platform) c.platform = platform_path(*platform);
  if (auto n = m.get("network")) {
    if (platform) fail(*n, "only with hosts (a platform file describes its own network)");
    c.network = network(*n);
  }
  if (auto q = m.get("queue_cap")) {
    c.queue_cap = integer<int>(*q, -1, INT_MAX, "an integer >= -1 (-1 unbounded, 0 late binding)");
  }
  if (auto h = m.get("scheduler_host")) {
    if (!platform) fail(*h, "only with platform (it names one of the platform's hosts)");
    c.scheduler_host = text(*h);
    if (c.scheduler_host.empty()) fail(*h, "must be a host name, got \"\"");
  }
  return c;
}

std::vector<HostGroup> Loader::host_groups(const Field& f) const {
  if (!f.node.IsSequence() || f.node.size() == 0) {
    fail(f, "must be a non-empty list of host groups such as [{count: 4, speed: 1e9, slots: 1}], got " +
                describe(f.node));
  }
  std::vector<HostGroup> groups;
  std::vector<Field> where;  // the group or its name, for clash messages
  std::vector<std::size_t> unnamed;  // groups without a name
  long long total = 0;
  for (const YAML::Node& item : f.node) {
    const Field g{item, f.path + "[" + std::to_string(groups.size()) + "]", item.Mark()};
    const MapReader m(*this, g);
    HostGroup h;
    const std::optional<Field> name = m.get("name");
    h.name = name ? host_name_value(*name) : "w";
    if (auto v = m.get("count")) h.count = integer<int>(*v, 1, kMaxHosts, "a positive integer");
    if (auto v = m.get("speed")) h.speed = number(*v, "a positive number (flop/s)", [](double x) { return x > 0; });
    if (auto v = m.get("slots")) h.slots = integer<int>(*v, 1, kMaxSlots, "a positive integer");
    if (auto v = m.get("weight")) {
      h.weight = number(*v, "a number >= 0 (0: speed x slots)", [](double x) { return x >= 0; });
    }
    total += h.count;
    if (total > kMaxHosts) {
      fail(g, "too many hosts: " + std::to_string(total) + " so far, at most " + std::to_string(kMaxHosts));
    }
    groups.push_back(h);
    where.push_back(name ? *name : g);
    if (!name) unnamed.push_back(groups.size() - 1);
  }
  // Default names: one group without a name is "w" (hosts w-0, w-1, ...); when several
  // have none, each is "w<i>", i its index in the list (hosts w0-0, ..., w1-0, ...).
  if (unnamed.size() > 1) {
    for (std::size_t g : unnamed) groups[g].name = "w" + std::to_string(g);
  }

  // Host names must be unique. Rather than expanding every name, use their shape: a group
  // of one host is a plain name S; a larger group is a prefix P with names P-0..P-(n-1).
  // P-i can equal Q-j only if P == Q (i and j hold no '-'), and S can equal P-i only if S
  // splits at its last '-' into P and a canonical decimal i < n.
  std::unordered_map<std::string, std::size_t> singles;   // name -> group
  std::unordered_map<std::string, std::size_t> prefixes;  // prefix -> group
  // prefix -> (smallest index i, group) over single names of the form prefix-i.
  std::unordered_map<std::string, std::pair<long long, std::size_t>> single_suffixes;
  auto clash = [&](std::size_t g, std::size_t other, const std::string& example) {
    fail(where[g], "host name '" + example + "' is also a host of " + f.path + "[" +
                       std::to_string(other) + "]; give the groups distinct names");
  };
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const HostGroup& h = groups[g];
    if (h.count == 1) {
      if (auto it = singles.find(h.name); it != singles.end()) clash(g, it->second, h.name);
      const std::size_t dash = h.name.rfind('-');
      if (dash != std::string::npos && dash + 1 < h.name.size()) {
        const std::string_view digits = std::string_view(h.name).substr(dash + 1);
        long long i = 0;
        const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), i);
        const bool canonical = ec == std::errc() && ptr == digits.data() + digits.size() &&
                               (digits.size() == 1 || digits[0] != '0') && digits[0] != '-';
        if (canonical) {
          const std::string prefix = h.name.substr(0, dash);
          if (auto it = prefixes.find(prefix); it != prefixes.end() && i < groups[it->second].count) {
            clash(g, it->second, h.name);
          }
          auto [it, inserted] = single_suffixes.try_emplace(prefix, i, g);
          if (!inserted && i < it->second.first) it->second = {i, g};
        }
      }
      singles.emplace(h.name, g);
    } else {
      if (auto it = prefixes.find(h.name); it != prefixes.end()) clash(g, it->second, h.name + "-0");
      if (auto it = single_suffixes.find(h.name); it != single_suffixes.end() && it->second.first < h.count) {
        clash(g, it->second.second, h.name + "-" + std::to_string(it->second.first));
      }
      prefixes.emplace(h.name, g);
    }
  }
  return groups;
}

// A relative path written in the file is relative to the file's directory, so scenarios
// can be run from anywhere; one given on the command line is relative to the working
// directory, as the user typed it there.
std::string Loader::platform_path(const Field& f) const { return existing_file(f, "platform file"); }

std::string Loader::existing_file(const Field& f, const std::string& what) const {
  namespace fs = std::filesystem;
  const std::string written = text(f);
  if (written.empty()) fail(f, "must be the path of a " + what + ", got \"\"");
  fs::path path(written);
  const bool from_file = override_of(f.path) == nullptr;
  if (path.is_relative() && from_file) path = fs::path(source_).parent_path() / path;
  path = path.lexically_normal();
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      fail(f, "cannot access '" + path.string() + "': " + ec.message());
    }
    fail(f, "no such file '" + path.string() + "'" +
                (fs::path(written).is_relative() && from_file ? " (relative to the scenario's directory)" : ""));
  }
  if (fs::is_directory(status)) fail(f, "'" + path.string() + "' is a directory, not a " + what);
  return path.string();
}

NetworkSpec Loader::network(const Field& f) const {
  const MapReader m(*this, f);
  NetworkSpec n;
  if (auto v = m.get("latency")) {
    n.latency = number(*v, "a number of seconds >= 0", [](double x) { return x >= 0; });
  }
  if (auto v = m.get("bandwidth")) {
    n.bandwidth = number(*v, "a positive number of bytes/s", [](double x) { return x > 0; });
  }
  return n;
}

SyntheticWorkload Loader::workload(const Field& f, TraceWorkload& trace_out) const {
  const MapReader m(*this, f);
  SyntheticWorkload w;
  std::string type = "poisson";
  if (auto t = m.get("type")) {
    type = text(*t);
    if (type != "poisson" && type != "wfcommons" && type != "swf" && type != "dag") {
      fail(*t, "unknown workload type '" + type + "' (known: poisson, wfcommons, swf, dag)");
    }
  }
  if (type != "poisson") {
    for (const char* key : {"rate", "size", "tasks", "rate_profile"}) {
      if (auto k = m.get(key)) fail(*k, std::string("only for type poisson (a ") + type + " workload comes from its file)");
    }
    trace_out = trace(f, m, type);
    w.tasks = 0;
    return w;
  }
  for (const char* key : {"file", "files", "reference_speed", "count", "interval", "first_job", "max_jobs",
                          "time_scale", "runtime_scale", "max_procs"}) {
    if (auto k = m.get(key)) fail(*k, "not for type poisson (it is for wfcommons, swf or dag workloads)");
  }
  w.rate = number(m.require("rate"), "a positive number of tasks per second", [](double x) { return x > 0; });
  if (auto s = m.get("size")) w.size = size(*s);
  w.tasks = integer<std::uint64_t>(m.require("tasks"), 1, UINT64_MAX, "a positive integer");
  if (auto p = m.get("rate_profile")) w.profile = rate_profile(*p);
  return w;
}

RateProfile Loader::rate_profile(const Field& f) const {
  const MapReader m(*this, f, "{kind: diurnal, period: 600, amplitude: 0.8}");
  RateProfile p;
  const Field kind = m.require("kind");
  const std::string name = text(kind);
  if (name == "diurnal") {
    p.kind = RateProfile::Kind::kDiurnal;
    for (const char* key : {"at", "factor"}) {
      if (auto k = m.get(key)) fail(*k, "only for kind step");
    }
    p.period = number(m.require("period"), "a positive number of seconds", [](double x) { return x > 0; });
    p.amplitude = number(m.require("amplitude"), "a number from 0 to 1", [](double x) { return x >= 0 && x <= 1; });
  } else if (name == "step") {
    p.kind = RateProfile::Kind::kStep;
    for (const char* key : {"period", "amplitude"}) {
      if (auto k = m.get(key)) fail(*k, "only for kind diurnal");
    }
    const auto list = [&](const Field& l, std::vector<double>& out, const char* what, auto ok) {
      if (!l.node.IsSequence() || l.node.size() == 0) fail(l, std::string("must be a non-empty list of ") + what);
      for (std::size_t i = 0; i < l.node.size(); ++i) {
        const Field item{l.node[i], l.path + "[" + std::to_string(i) + "]", l.node[i].Mark()};
        out.push_back(number(item, what, ok));
      }
    };
    const Field at = m.require("at");
    const Field factor = m.require("factor");
    list(at, p.at, "seconds >= 0", [](double x) { return x >= 0; });
    list(factor, p.factors, "factors >= 0", [](double x) { return x >= 0; });
    if (p.at.size() != p.factors.size()) fail(factor, "must have as many entries as at (" + std::to_string(p.at.size()) + ")");
    if (p.at[0] != 0) fail(at, "must start at 0");
    for (std::size_t i = 1; i < p.at.size(); ++i) {
      if (!(p.at[i] > p.at[i - 1])) fail(at, "must be increasing");
    }
    if (!(p.factors.back() > 0)) fail(factor, "the last factor must be positive (or the arrivals would never end)");
  } else {
    fail(kind, "unknown rate profile '" + name + "' (known: diurnal, step)");
  }
  return p;
}

TraceWorkload Loader::trace(const Field& f, const MapReader& m, const std::string& type) const {
  TraceWorkload t;
  t.type = type;
  const auto file = m.get("file");
  const auto files = m.get("files");
  if (file && files) fail(*files, "give file or files, not both");
  if (!file && !files) fail(f, "a " + type + " workload needs file (or files: [..])");
  if (files && type == "swf") fail(*files, "an swf workload reads one trace: use file");
  if (file) t.files.push_back(existing_file(*file, type + " file"));
  if (files) {
    if (!files->node.IsSequence() || files->node.size() == 0) fail(*files, "must be a non-empty list of paths");
    for (std::size_t i = 0; i < files->node.size(); ++i) {
      const Field item{files->node[i], files->path + "[" + std::to_string(i) + "]", files->node[i].Mark()};
      t.files.push_back(existing_file(item, type + " file"));
    }
  }
  if (auto v = m.get("reference_speed")) {
    t.reference_speed = number(*v, "a positive number of flop/s", [](double x) { return x > 0; });
  }
  const bool swf = type == "swf";
  for (const char* key : {"count", "interval"}) {
    if (auto k = m.get(key); k && swf) fail(*k, "not for swf (a trace has its own arrivals)");
  }
  for (const char* key : {"first_job", "max_jobs", "time_scale", "runtime_scale", "max_procs"}) {
    if (auto k = m.get(key); k && !swf) fail(*k, "only for swf workloads");
  }
  if (auto v = m.get("count")) t.count = integer<std::uint32_t>(*v, 1, 1000000, "an integer from 1 to 1000000");
  if (auto v = m.get("interval")) t.interval = number(*v, "a number of seconds >= 0", [](double x) { return x >= 0; });
  if (auto v = m.get("first_job")) t.first_job = integer<std::uint64_t>(*v, 0, UINT64_MAX, "an integer >= 0");
  if (auto v = m.get("max_jobs")) t.max_jobs = integer<std::uint64_t>(*v, 0, UINT64_MAX, "an integer >= 0");
  if (auto v = m.get("time_scale")) t.time_scale = number(*v, "a positive number", [](double x) { return x > 0; });
  if (auto v = m.get("runtime_scale")) t.runtime_scale = number(*v, "a positive number", [](double x) { return x > 0; });
  if (auto v = m.get("max_procs")) t.max_procs = integer<std::uint32_t>(*v, 0, 1000000, "an integer >= 0");
  return t;
}

SizeDistribution Loader::size(const Field& f) const {
  // Every dist's keys are accepted first; which ones the chosen dist takes is checked next.
  const MapReader m(*this, f, "{dist: exponential, mean: 1e9}");
  struct Dist {
    const char* name;
    SizeDistribution::Kind kind;
    std::vector<std::string_view> keys;
  };
  const Dist dists[] = {
      {"constant", SizeDistribution::Kind::kConstant, {"value", "mean"}},
      {"exponential", SizeDistribution::Kind::kExponential, {"mean"}},
      {"uniform", SizeDistribution::Kind::kUniform, {"low", "high"}},
      {"lognormal", SizeDistribution::Kind::kLognormal, {"mean", "sigma"}},
      {"bounded_pareto", SizeDistribution::Kind::kBoundedPareto, {"low", "high", "alpha"}},
  };
  std::string name = "exponential";
  std::optional<Field> dist_field = m.get("dist");
  if (dist_field) name = text(*dist_field);
  const Dist* dist = nullptr;
  std::string known;
  for (const Dist& d : dists) {
    if (name == d.name) dist = &d;
    known += (known.empty() ? "" : ", ") + std::string(d.name);
  }
  if (!dist) fail(*dist_field, "unknown size dist '" + name + "' (known: " + known + ")");
  std::string takes;
  for (std::string_view k : dist->keys) takes += (takes.empty() ? "" : ", ") + std::string(k);
  for (std::string_view k : keys_of(f.path)) {
    if (k == "dist") continue;
    bool allowed = false;
    for (std::string_view a : dist->keys) allowed = allowed || a == k;
    if (auto v = m.get(k); v && !allowed) {
      fail(*v, f.path, "dist " + name + " takes no '" + std::string(k) + "' (it takes: " + takes + ")");
    }
  }

  const auto positive = [](double x) { return x > 0; };
  constexpr const char* kPositive = "a positive number (flops)";
  SizeDistribution s;
  s.kind = dist->kind;
  switch (dist->kind) {
    case SizeDistribution::Kind::kConstant: {
      const std::optional<Field> value = m.get("value");
      const std::optional<Field> mean = m.get("mean");
      if (value && mean) fail(*mean, f.path, "give value or mean, not both");
      s.mean = number(value ? *value : mean ? *mean : m.require("value"), kPositive, positive);
      break;
    }
    case SizeDistribution::Kind::kExponential:
      s.mean = number(m.require("mean"), kPositive, positive);
      break;
    case SizeDistribution::Kind::kLognormal:
      s.mean = number(m.require("mean"), kPositive, positive);
      // Beyond 10, exp(mu + sigma z) under- and overflows for plausible z.
      s.sigma = number(m.require("sigma"), "a number from 0 to 10", [](double x) { return x >= 0 && x <= 10; });
      break;
    case SizeDistribution::Kind::kUniform:
    case SizeDistribution::Kind::kBoundedPareto: {
      s.low = number(m.require("low"), kPositive, positive);
      const Field high = m.require("high");
      s.high = number(high, kPositive, positive);
      if (!(s.high > s.low)) {
        fail(high, "must be greater than low (" + describe(m.require("low").node) + "), got " + describe(high.node));
      }
      if (dist->kind == SizeDistribution::Kind::kBoundedPareto) {
        s.alpha = number(m.require("alpha"), "a positive number", positive);
      }
      break;
    }
  }
  return s;
}

std::string Loader::policy(const Field& f) const {
  const std::string spec = text(f);
  try {
    const auto made = make_policy(spec);
    if (!made.ok()) fail(f, made.error());
  } catch (const Invalid&) {
    throw;
  } catch (const std::exception& e) {
    fail(f, "bad policy '" + spec + "': " + e.what());
  }
  return spec;
}

// "cluster.hosts[0].count" or "cluster.hosts.0.count" into its steps.
struct Step {
  std::string key;       // a key, or an index's digits
  bool bracket = false;  // written as [i], so an index
};

Expected<std::vector<Step>> parse_path(std::string_view path) {
  while (!path.empty() && path.front() == ' ') path.remove_prefix(1);
  while (!path.empty() && path.back() == ' ') path.remove_suffix(1);
  std::vector<Step> steps;
  std::size_t i = 0;
  while (true) {
    std::size_t j = i;
    while (j < path.size() && path[j] != '.' && path[j] != '[' && path[j] != ']') ++j;
    if (j == i) return Error{"empty key in the path"};
    steps.push_back({std::string(path.substr(i, j - i)), false});
    i = j;
    while (i < path.size() && path[i] == '[') {
      const std::size_t close = path.find(']', i);
      if (close == std::string_view::npos) return Error{"unclosed '['"};
      const std::string_view digits = path.substr(i + 1, close - i - 1);
      bool ok = !digits.empty() && digits.size() <= 9;
      for (char c : digits) ok = ok && c >= '0' && c <= '9';
      if (!ok) return Error{"a list index must be a number, got '[" + std::string(digits) + "]'"};
      steps.push_back({std::string(digits), true});
      i = close + 1;
    }
    if (i == path.size()) return steps;
    if (path[i] != '.') return Error{"unexpected '" + std::string(1, path[i]) + "' in the path"};
    ++i;
  }
}

bool is_index(const Step& step) {
  if (step.bracket) return true;
  if (step.key.empty() || step.key.size() > 9) return false;
  for (char c : step.key) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Sets the value at the override's path in `root` (a handle: the tree is shared).
Expected<AppliedOverride> apply_override(YAML::Node root, const std::string& text) {
  const std::string prefix = "--set '" + text + "': ";
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos) return Error{prefix + "expected key.path=value"};
  auto steps = parse_path(std::string_view(text).substr(0, eq));
  if (!steps.ok()) return Error{prefix + steps.error()};
  YAML::Node value;
  try {
    value = YAML::Load(text.substr(eq + 1));
  } catch (const YAML::ParserException& e) {
    return Error{prefix + "YAML syntax error in the value: " + e.msg};
  }
  if (!value.IsDefined() || value.IsNull()) value = YAML::Node(YAML::NodeType::Null);

  // yaml-cpp pitfalls: `a = b` on Nodes assigns the content, so walking uses reset(); and
  // indexing a sequence out of range or with a key silently turns it into a map, so the
  // type and bounds are checked first.
  YAML::Node cur = root;
  std::string path;
  for (std::size_t s = 0; s < steps->size(); ++s) {
    const Step& step = (*steps)[s];
    const bool last = s + 1 == steps->size();
    const std::string here = path.empty() ? "the scenario" : path;
    if (cur.IsSequence() && is_index(step)) {
      const std::size_t i = std::stoul(step.key);
      const std::size_t n = cur.size();
      if (i > n) {
        return Error{prefix + here + " has " + std::to_string(n) + " entries; index " + step.key +
                     " is past the end"};
      }
      path += "[" + std::to_string(i) + "]";
      if (i == n) {
        cur.push_back(last ? value : YAML::Node(YAML::NodeType::Map));
      } else if (last) {
        cur[i] = value;
      }
      cur.reset(cur[i]);
    } else if (cur.IsSequence()) {
      return Error{prefix + here + " is a list; index it, as in " + here + "[0]"};
    } else if (step.bracket) {
      return Error{prefix + here + " is not a list"};
    } else if (!cur.IsMap() && !cur.IsNull()) {
      return Error{prefix + here + " is not a map"};
    } else {
      path = join(path, step.key);
      if (last) {
        cur[step.key] = value;
      } else {
        const YAML::Node child = cur[step.key];
        if (!child.IsDefined() || child.IsNull()) cur[step.key] = YAML::Node(YAML::NodeType::Map);
      }
      cur.reset(cur[step.key]);
    }
  }
  return AppliedOverride{text, path};
}

// Records where each document starts. yaml-cpp 0.7's LoadAll loops forever, allocating,
// on a stray ',' (jbeder/yaml-cpp#1040: the parser emits a null document without consuming
// the token), so the tree comes from Load and documents are counted here with a bounded
// number of HandleNextDocument calls; two documents starting at the same place are that
// stuck token.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;

  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// The one document of `yaml`, or the syntax error. Throws Invalid.
YAML::Node parse_document(const std::string& yaml, const std::string& source) {
  DocumentStarts docs;
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
    std::istringstream in(yaml);
    YAML::Parser parser(in);
    for (int i = 0; i < 3 && parser.HandleNextDocument(docs); ++i) {
    }
  } catch (const YAML::ParserException& e) {
    throw Invalid{line_of(source, e.mark) + ": YAML syntax error: " + e.msg};
  }
  for (std::size_t i = 1; i < docs.starts.size(); ++i) {
    const YAML::Mark& mark = docs.starts[i];
    if (mark.pos == docs.starts[i - 1].pos) {
      const bool known = mark.pos >= 0 && static_cast<std::size_t>(mark.pos) < yaml.size();
      throw Invalid{line_of(source, mark) + ": YAML syntax error: unexpected " +
                    (known ? "'" + std::string(1, yaml[static_cast<std::size_t>(mark.pos)]) + "'" : "token")};
    }
  }
  if (docs.starts.size() > 1) {
    throw Invalid{line_of(source, docs.starts[1]) + ": a scenario is one YAML document; this starts another"};
  }
  // A real (not default-constructed) node, so that the handles overrides walk share it.
  if (docs.starts.empty() || !root.IsDefined() || root.IsNull()) return YAML::Node(YAML::NodeType::Null);
  return root;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

Expected<Scenario> load_scenario_text(const std::string& yaml, const std::string& source_name,
                                      const std::vector<std::string>& overrides) {
  try {
    YAML::Node root = parse_document(yaml, source_name);
    std::vector<AppliedOverride> applied;
    for (const std::string& text : overrides) {
      try {
        auto o = apply_override(root, text);
        if (!o.ok()) return Error{o.error()};
        applied.push_back(std::move(*o));
      } catch (const YAML::Exception& e) {
        return Error{"--set '" + text + "': " + e.msg};
      }
    }
    return Loader(source_name, std::move(applied)).load(root);
  } catch (const Invalid& e) {
    return Error{e.message};
  } catch (const YAML::Exception& e) {
    return Error{line_of(source_name, e.mark) + ": " + e.msg};
  } catch (const std::exception& e) {
    return Error{source_name + ": cannot load: " + e.what()};
  } catch (...) {
    return Error{source_name + ": cannot load: unknown error"};
  }
}

Expected<Scenario> load_scenario_file(const std::string& path, const std::vector<std::string>& overrides) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) return Error{path + ": cannot read file: " + std::strerror(errno)};
  std::string text;
  char buffer[1 << 16];
  while (true) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
    text.append(buffer, n);
    // A cap, so that a path like /dev/zero fails instead of exhausting memory.
    if (text.size() > kMaxFileBytes) return Error{path + ": cannot read file: larger than 64 MiB"};
    if (n < sizeof buffer) break;
  }
  if (std::ferror(file.get())) return Error{path + ": cannot read file: " + std::strerror(errno)};
  return load_scenario_text(text, path, overrides);
}

std::string_view default_scenario_yaml() { return kDefaultScenario; }

std::vector<std::string> scenario_key_paths() {
  std::vector<std::string> paths;
  for (const MapKeys& m : scenario_maps()) {
    for (std::string_view k : m.keys) paths.push_back(join(std::string(m.path), k));
  }
  return paths;
}

}  // namespace fulcrum
