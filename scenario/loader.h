// The scenario loader's insides, shared by the files that each read one part of a scenario
// (load.cc the whole, load_cluster.cc, load_workload.cc, load_faults.cc, load_settings.cc)
// and by the --set overrides (overrides.cc). Not for callers: scenario/load.h is the API.
//
// Validation stops at the first problem. yaml-cpp reports through exceptions that must be
// caught at the API boundary anyway, so every reader here throws Invalid too, rather than
// threading Expected through every field; load_scenario_text turns it into an Error.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/expected.h"
#include "scenario/scenario.h"

namespace fulcrum {
namespace scenario_detail {

// The key table (load.cc): each YAML map the loader reads, by its schema path
// ("cluster.hosts[]"), with the keys it accepts, in the order messages list them.
struct MapKeys {
  std::string_view path;
  std::vector<std::string_view> keys;
};
const std::vector<MapKeys>& scenario_maps();

// The keys of the map at `path` (a concrete path such as "faults[3]"). Every map the loader
// reads is in the table; a missing one is a bug in the loader, not in the input.
const std::vector<std::string_view>& keys_of(std::string_view path);

// What every reader throws: the whole message, "FILE:LINE: key.path: what is wrong".
struct Invalid {
  std::string message;
};

// An override as applied, remembered so that errors in what it set name it, not a line.
struct AppliedOverride {
  std::string text;  // as given: "cluster.hosts.0.count=4"
  std::string path;  // canonical: "cluster.hosts[0].count"
};

// Sets the value at the override's path in `root` (a handle: the tree is shared)
// (overrides.cc).
Expected<AppliedOverride> apply_override(YAML::Node root, const std::string& text);

// --- Helpers for reading fields and writing messages (yaml_fields.cc) ---

std::string join(const std::string& path, std::string_view key);
// True if `path` is `ancestor` or lies below it.
bool within(std::string_view path, std::string_view ancestor);
std::string line_of(const std::string& source, const YAML::Mark& mark);
// A value for "got ..." in messages. Never walks into collections: aliases can make them
// cyclic.
std::string describe(const YAML::Node& node);
// A number as short as it reads back, for messages.
std::string number_text(double x);
// "a, b, c".
std::string listing(const std::vector<std::string_view>& names);

// Numbers are plain scalars (a quoted "80" is a string, as in YAML itself) that
// std::from_chars reads entirely.
std::optional<double> as_double(const YAML::Node& node);

// A node with the key path that leads to it and the line it is reported at.
struct Field {
  YAML::Node node;
  std::string path;
  // For a map entry, the key's mark: a missing value's own mark lies on the next line.
  YAML::Mark mark;
};

// Entry `index` of the list `list`, which is `node`.
Field list_entry(const Field& list, std::size_t index, const YAML::Node& node);

class Loader;

// A map whose keys are checked against its entry in scenario_maps(): unknown, duplicate
// and non-scalar keys are refused on construction.
class MapReader {
 public:
  // `schema`: the table entry whose keys apply, when not self's own path (a size
  // distribution read at another path takes workload.size's keys).
  MapReader(const Loader& loader, const Field& self, const std::string& example = "", std::string_view schema = "");

  std::optional<Field> get(std::string_view key) const;
  Field require(std::string_view key) const;
  // The first key given, in the table's order, that is neither `allowed` nor `skip`: for
  // maps whose kind (or dist) decides which of their keys apply.
  std::optional<std::pair<std::string_view, Field>> first_not_in(const std::vector<std::string_view>& allowed,
                                                                 std::string_view skip) const;

 private:
  const Loader& loader_;
  Field self_;
  const std::vector<std::string_view>& known_;
  std::vector<std::pair<std::string, Field>> entries_;
};

// The entries of a map whose keys are names the user chooses (labels, resources, zones),
// in order; a non-map, a key that is not a scalar and a key given twice are refused.
std::vector<std::pair<std::string, Field>> open_map(const Loader& loader, const Field& f, const std::string& example);

// Reads the parts of a scenario. Each member function is defined in the file of its part.
class Loader {
 public:
  Loader(std::string source, std::vector<AppliedOverride> overrides)
      : source_(std::move(source)), overrides_(std::move(overrides)) {}

  Scenario load(const YAML::Node& root) const;  // load.cc

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
  // Typed values (yaml_fields.cc).
  std::string where(const Field& at) const;
  std::string text(const Field& f) const;
  bool boolean(const Field& f) const;
  // A size in bytes: a number or a number and a unit (parse_bytes, scenario/scenario.h).
  double bytes(const Field& f) const;
  // A name of a label, a resource or a zone: letters, digits, '_', '.', '-' and '/',
  // starting with a letter or digit, at most 63 characters. `what` names it in messages.
  std::string name_value(const Field& f, const std::string& what) const;
  std::string existing_file(const Field& f, const std::string& what) const;
  template <class Ok>
  double number(const Field& f, const char* requirement, Ok ok) const;
  // For int, std::uint32_t and std::uint64_t.
  template <class Int>
  Int integer(const Field& f, Int low, Int high, const char* requirement) const;

  // load_cluster.cc
  ClusterSpec cluster(const Field& f) const;
  std::vector<HostGroup> host_groups(const Field& f, const std::vector<ZoneSpec>& zones) const;
  std::string host_name_value(const Field& f) const;
  NetworkSpec network(const Field& f) const;
  std::vector<ZoneSpec> zones(const Field& f) const;
  void host_resources(const Field& f, HostGroup& h, const std::optional<Field>& slots) const;
  std::map<std::string, std::string> labels(const Field& f) const;
  // load_workload.cc
  SyntheticWorkload workload(const Field& f, const ClusterSpec& cluster, Scenario& s) const;
  // A size distribution of amounts in `unit`: "flops", "bytes" (values may be written
  // with units: parse_bytes), or a resource's name.
  SizeDistribution size(const Field& f, std::string_view unit = "flops") const;
  RateProfile rate_profile(const Field& f) const;
  TraceWorkload trace(const Field& f, const MapReader& m, const std::string& type, const ClusterSpec& cluster) const;
  // The task classes of a poisson workload: `classes`, or its own resources, require and
  // spread as one class (none of them: no class).
  std::vector<TaskClass> task_classes(const MapReader& m, const ClusterSpec& cluster) const;
  std::map<std::string, SizeDistribution> request(const Field& f) const;
  std::map<std::string, std::string> require(const Field& f, const ClusterSpec& cluster) const;
  Spread spread(const Field& f) const;
  // load_faults.cc
  std::vector<FaultSpec> faults(const Field& f, const ClusterSpec& cluster, const RecoverySpec& recovery) const;
  // One entry; a zone_outage expands to one fault per host group of the zone.
  std::vector<FaultSpec> fault(const Field& f, const ClusterSpec& cluster) const;
  std::vector<FaultSpec> zone_outage(const Field& f, const MapReader& m, const ClusterSpec& cluster) const;
  // load_tenants.cc
  std::vector<TenantSpec> tenants(const Field& f) const;
  Resources amounts(const Field& f) const;
  std::string tenant_name(const Field& f) const;
  std::int32_t priority_class(const Field& f) const;
  PreemptionSpec preemption(const Field& f) const;
  // load_settings.cc
  std::string policy(const Field& f) const;
  RealSpec real(const Field& f) const;
  DisciplineSpec discipline(const Field& f) const;  // load_settings.cc
  RecoverySpec recovery(const Field& f) const;
  AutoscaleSpec autoscale(const Field& f, const ClusterSpec& cluster) const;
  PowerSpec power(const Field& f) const;

  std::string source_;
  std::vector<AppliedOverride> overrides_;
};

template <class Ok>
double Loader::number(const Field& f, const char* requirement, Ok ok) const {
  const std::optional<double> v = as_double(f.node);
  if (!v || !std::isfinite(*v) || !ok(*v)) {
    fail(f, std::string("must be ") + requirement + ", got " + describe(f.node));
  }
  return *v;
}

// --- Fault timelines (fault_timeline.cc) ---

// The index of the group that has a host named `name` (the loader keeps names unique),
// or -1.
int group_of_host(const std::vector<HostGroup>& groups, std::string_view name);

struct CrashTarget;

// Refuses a `faults:` list that cannot happen: a host that is down crashing again, or a
// leader_kill before a standby leads after the previous one.
class TimelineCheck {
 public:
  TimelineCheck(const Loader& loader, const ClusterSpec& cluster, const RecoverySpec& recovery);
  ~TimelineCheck();
  // Fails, naming the earlier entry, if entry `at` (read as `spec`) cannot follow the
  // entries added before it; else adds it.
  void add(const FaultSpec& spec, const Field& at);

 private:
  std::string entry_ref(const Field& entry) const;

  const Loader& loader_;
  const ClusterSpec& cluster_;
  const RecoverySpec& recovery_;
  std::uint64_t total_ = 0;  // group form: the number of hosts
  std::vector<FaultSpec> specs_;
  std::vector<Field> entries_;
  std::vector<CrashTarget> targets_;  // per entry; used for crashes only
};

}  // namespace scenario_detail
}  // namespace fulcrum
