// The `workload:` map: synthetic Poisson arrivals (size distribution, rate profile) or a
// workload read from files. Each form refuses the other's keys, so that a key that would
// be silently ignored, such as a rate beside a trace, is an error instead.
#include <cmath>
#include <cstdint>
#include <string>

#include "scenario/loader.h"

namespace fulcrum {
namespace scenario_detail {

SyntheticWorkload Loader::workload(const Field& f, const ClusterSpec& cluster, Scenario& scenario) const {
  const MapReader m(*this, f);
  SyntheticWorkload w;
  std::string type = "poisson";
  if (auto t = m.get("type")) {
    type = text(*t);
    if (type != "poisson" && type != "wfcommons" && type != "swf" && type != "dag" && type != "alibaba") {
      fail(*t, "unknown workload type '" + type + "' (known: poisson, wfcommons, swf, dag, alibaba)");
    }
  }
  if (type != "poisson") {
    for (const char* key : {"rate", "size", "tasks", "rate_profile", "resources", "classes", "width"}) {
      if (auto k = m.get(key)) fail(*k, std::string("only for type poisson (a ") + type + " workload comes from its file)");
    }
    scenario.trace = trace(f, m, type, cluster);
    w.tasks = 0;
    return w;
  }
  for (const char* key : {"file", "files", "reference_speed", "count", "interval", "first_job", "max_jobs",
                          "time_scale", "runtime_scale", "max_procs", "max_instances", "machine_memory"}) {
    if (auto k = m.get(key)) fail(*k, "not for type poisson (it is for wfcommons, swf, dag or alibaba workloads)");
  }
  w.rate = number(m.require("rate"), "a positive number of tasks per second", [](double x) { return x > 0; });
  if (auto s = m.get("size")) w.size = size(*s);
  w.tasks = integer<std::uint64_t>(m.require("tasks"), 1, UINT64_MAX, "a positive integer");
  for (const char* key : {"split", "kill_at_estimate", "tenants_from"}) {
    if (auto k = m.get(key)) fail(*k, "only for swf workloads");
  }
  if (auto v = m.get("width")) {
    if (v->node.IsMap()) {
      scenario.width = size(*v, "tasks");
    } else {  // a plain number of tasks
      SizeDistribution constant;
      constant.kind = SizeDistribution::Kind::kConstant;
      constant.mean = number(*v, "a number of tasks >= 1, or a size distribution", [](double x) { return x >= 1; });
      scenario.width = constant;
    }
    // Tasks per job: every width it can draw must round to 1 or more.
    const SizeDistribution& d = *scenario.width;
    if (d.kind == SizeDistribution::Kind::kConstant && !(d.mean >= 0.5)) {
      fail(*v, "must be a number of tasks >= 1, got " + describe(v->node));
    }
  }
  if (auto p = m.get("rate_profile")) w.profile = rate_profile(*p);
  scenario.classes = task_classes(m, cluster);
  return w;
}

std::vector<TaskClass> Loader::task_classes(const MapReader& m, const ClusterSpec& cluster) const {
  // The workload's own resources, require and spread: one class, or every class's default.
  TaskClass base;
  const std::optional<Field> resources = m.get("resources");
  const std::optional<Field> req = m.get("require");
  const std::optional<Field> spr = m.get("spread");
  if (resources) base.resources = request(*resources);
  if (req) base.require = require(*req, cluster);
  if (spr) base.spread = spread(*spr);
  const std::optional<Field> tenant = m.get("tenant");
  const std::optional<Field> pclass = m.get("priority_class");
  if (tenant) base.tenant = tenant_name(*tenant);
  if (pclass) base.priority_class = priority_class(*pclass);
  const std::optional<Field> classes = m.get("classes");
  if (!classes) {
    if (!resources && !req && !spr && !tenant && !pclass) return {};
    return {base};
  }
  const Field& l = *classes;
  if (!l.node.IsSequence() || l.node.size() == 0) {
    fail(l, "must be a non-empty list of task classes such as [{share: 0.7, resources: {cores: 1}}, "
            "{share: 0.3, resources: {cores: 4, memory: 8GiB}}], got " + describe(l.node));
  }
  constexpr std::size_t kMaxClasses = 1000;
  if (l.node.size() > kMaxClasses) fail(l, "too many classes: at most " + std::to_string(kMaxClasses));
  std::vector<TaskClass> out;
  double total = 0;
  for (std::size_t i = 0; i < l.node.size(); ++i) {
    const Field e = list_entry(l, i, l.node[i]);
    const MapReader c(*this, e, "{share: 0.5, resources: {cores: 2, memory: 4GiB}}");
    TaskClass k = base;
    k.share = number(c.require("share"), "a fraction, 0 < share <= 1", [](double x) { return x > 0 && x <= 1; });
    total += k.share;
    if (auto v = c.get("size")) k.size = size(*v);
    if (auto v = c.get("resources")) k.resources = request(*v);
    if (auto v = c.get("require")) k.require = require(*v, cluster);
    if (auto v = c.get("spread")) k.spread = spread(*v);
    if (auto v = c.get("tenant")) k.tenant = tenant_name(*v);
    if (auto v = c.get("priority_class")) k.priority_class = priority_class(*v);
    out.push_back(std::move(k));
  }
  if (std::fabs(total - 1) > 1e-6) {
    fail(l, "the classes' shares must sum to 1, got " + number_text(total));
  }
  return out;
}

// `resources: {cores: 2, memory: 4GiB, gpus: 1, licence: 1}`, each amount a constant or a
// size distribution ({dist: uniform, low: 1GiB, high: 4GiB}).
std::map<std::string, SizeDistribution> Loader::request(const Field& f) const {
  std::map<std::string, SizeDistribution> out;
  for (const auto& [name, v] : open_map(*this, f, "{cores: 2, memory: 4GiB, gpus: 1}")) {
    if (name != "cores" && name != "memory" && name != "gpus") {
      const Field key{YAML::Node(name), f.path, v.mark};
      if (name == "slots") fail(key, "a task asks for cores, not slots");
      name_value(key, "a resource's name");
    }
    const bool memory = name == "memory";
    if (v.node.IsMap()) {
      out[name] = size(v, memory ? "bytes" : name == "gpus" ? "GPUs" : name);
      continue;
    }
    SizeDistribution constant;
    constant.kind = SizeDistribution::Kind::kConstant;
    if (memory) {
      constant.mean = bytes(v);
    } else if (name == "cores") {
      constant.mean = number(v, "a positive number of cores, or a size distribution", [](double x) { return x > 0; });
    } else {
      constant.mean = number(v, "a number >= 0, or a size distribution", [](double x) { return x >= 0; });
    }
    out[name] = constant;
  }
  return out;
}

// `require: {disk: ssd, zone: eu}`: labels the worker must carry with these values; the
// key zone names the worker's zone, which must exist (with host groups).
std::map<std::string, std::string> Loader::require(const Field& f, const ClusterSpec& cluster) const {
  std::map<std::string, std::string> out;
  for (const auto& [name, v] : open_map(*this, f, "{disk: ssd, zone: eu}")) {
    name_value(Field{YAML::Node(name), f.path, v.mark}, "a label's name");
    if (!v.node.IsScalar() || v.node.Scalar().empty()) {
      fail(v, "must be a label value (a name, number or boolean), got " + describe(v.node));
    }
    const std::string value = name_value(v, name == "zone" ? "a zone" : "a label's value");
    if (name == "zone" && cluster.platform.empty()) {
      const std::vector<std::string> zones = cluster.zone_names();
      bool known = false;
      std::string names;
      for (const std::string& z : zones) {
        known = known || z == value;
        names += (names.empty() ? "" : ", ") + z;
      }
      if (!known) {
        fail(v, "unknown zone '" + value + "' (" +
                    (zones.empty() ? std::string("the cluster has no zones: give host groups zone: NAME")
                                   : "the cluster's zones are " + names) +
                    ")");
      }
    }
    out[name] = value;
  }
  return out;
}

Spread Loader::spread(const Field& f) const {
  const std::string s = text(f);
  if (s == "none") return Spread::kNone;
  if (s == "host") return Spread::kHost;
  if (s == "zone") return Spread::kZone;
  fail(f, "must be host, zone or none, got " + describe(f.node));
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
        out.push_back(number(list_entry(l, i, l.node[i]), what, ok));
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

TraceWorkload Loader::trace(const Field& f, const MapReader& m, const std::string& type,
                            const ClusterSpec& cluster) const {
  TraceWorkload t;
  t.type = type;
  const auto file = m.get("file");
  const auto files = m.get("files");
  const bool table = type == "swf" || type == "alibaba";  // one trace with its own arrivals
  if (file && files) fail(*files, "give file or files, not both");
  if (!file && !files) fail(f, "a " + type + " workload needs file (or files: [..])");
  if (files && table) fail(*files, "an " + type + " workload reads one trace: use file");
  if (file) t.files.push_back(existing_file(*file, type + " file"));
  if (files) {
    if (!files->node.IsSequence() || files->node.size() == 0) fail(*files, "must be a non-empty list of paths");
    for (std::size_t i = 0; i < files->node.size(); ++i) {
      t.files.push_back(existing_file(list_entry(*files, i, files->node[i]), type + " file"));
    }
  }
  if (auto v = m.get("reference_speed")) {
    t.reference_speed = number(*v, "a positive number of flop/s", [](double x) { return x > 0; });
  }
  for (const char* key : {"count", "interval"}) {
    if (auto k = m.get(key); k && table) fail(*k, "not for " + type + " (a trace has its own arrivals)");
  }
  for (const char* key : {"first_job", "max_jobs", "time_scale", "runtime_scale"}) {
    if (auto k = m.get(key); k && !table) fail(*k, "only for swf and alibaba workloads");
  }
  if (auto k = m.get("max_procs"); k && type != "swf") fail(*k, "only for swf workloads");
  if (auto k = m.get("split"); k && type != "swf") fail(*k, "only for swf workloads");
  if (auto v = m.get("split")) t.split = boolean(*v);
  if (auto v = m.get("tenant")) t.tenant = tenant_name(*v);
  if (auto v = m.get("priority_class")) t.priority_class = priority_class(*v);
  if (auto k = m.get("tenants_from"); k && type != "swf") fail(*k, "only for swf workloads");
  if (auto v = m.get("tenants_from")) {
    t.tenants_from = text(*v);
    if (t.tenants_from != "user" && t.tenants_from != "group" && t.tenants_from != "queue" &&
        t.tenants_from != "partition") {
      fail(*v, "must be user, group, queue or partition (SWF fields 12, 13, 15, 16), got " + describe(v->node));
    }
    if (auto k = m.get("tenant")) fail(*k, "give tenant or tenants_from, not both");
  }
  if (auto k = m.get("kill_at_estimate"); k && type != "swf") fail(*k, "only for swf workloads");
  if (auto v = m.get("kill_at_estimate")) t.kill_at_estimate = boolean(*v);
  for (const char* key : {"max_instances", "machine_memory"}) {
    if (auto k = m.get(key); k && type != "alibaba") fail(*k, "only for alibaba workloads");
  }
  if (auto v = m.get("max_instances")) t.max_instances = integer<std::uint32_t>(*v, 0, 1000000, "an integer >= 0");
  if (auto v = m.get("machine_memory")) {
    t.machine_memory = bytes(*v);
    if (!(t.machine_memory > 0)) fail(*v, "must be a positive size such as 64GiB, got " + describe(v->node));
  }
  if (auto v = m.get("require")) t.require = require(*v, cluster);
  if (auto v = m.get("spread")) t.spread = spread(*v);
  if (auto v = m.get("count")) t.count = integer<std::uint32_t>(*v, 1, 1000000, "an integer from 1 to 1000000");
  if (auto v = m.get("interval")) t.interval = number(*v, "a number of seconds >= 0", [](double x) { return x >= 0; });
  if (auto v = m.get("first_job")) t.first_job = integer<std::uint64_t>(*v, 0, UINT64_MAX, "an integer >= 0");
  if (auto v = m.get("max_jobs")) t.max_jobs = integer<std::uint64_t>(*v, 0, UINT64_MAX, "an integer >= 0");
  if (auto v = m.get("time_scale")) t.time_scale = number(*v, "a positive number", [](double x) { return x > 0; });
  if (auto v = m.get("runtime_scale")) t.runtime_scale = number(*v, "a positive number", [](double x) { return x > 0; });
  if (auto v = m.get("max_procs")) t.max_procs = integer<std::uint32_t>(*v, 0, 1000000, "an integer >= 0");
  return t;
}

SizeDistribution Loader::size(const Field& f, std::string_view unit) const {
  const bool in_bytes = unit == "bytes";
  // Every dist's keys are accepted first; which ones the chosen dist takes is checked next.
  const MapReader m(*this, f, in_bytes ? "{dist: uniform, low: 1GiB, high: 4GiB}" : "{dist: exponential, mean: 1e9}",
                    "workload.size");
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
  if (auto extra = m.first_not_in(dist->keys, "dist")) {
    fail(extra->second, f.path,
         "dist " + name + " takes no '" + std::string(extra->first) + "' (it takes: " + listing(dist->keys) + ")");
  }

  const auto positive_flops = [](double x) { return x > 0; };
  const std::string positive_text = "a positive number (" + std::string(unit) + ")";
  const char* kPositive = positive_text.c_str();
  // A positive amount: flops, or bytes (a number or a size with a unit).
  const auto amount = [&](const Field& v, const char* requirement, auto ok) {
    if (!in_bytes) return number(v, requirement, ok);
    const double b = bytes(v);
    if (!ok(b)) fail(v, "must be a positive size in bytes, got " + describe(v.node));
    return b;
  };
  const auto positive = [](double x) { return x > 0; };
  SizeDistribution s;
  s.kind = dist->kind;
  switch (dist->kind) {
    case SizeDistribution::Kind::kConstant: {
      const std::optional<Field> value = m.get("value");
      const std::optional<Field> mean = m.get("mean");
      if (value && mean) fail(*mean, f.path, "give value or mean, not both");
      s.mean = amount(value ? *value : mean ? *mean : m.require("value"), kPositive, positive_flops);
      break;
    }
    case SizeDistribution::Kind::kExponential:
      s.mean = amount(m.require("mean"), kPositive, positive_flops);
      break;
    case SizeDistribution::Kind::kLognormal:
      s.mean = amount(m.require("mean"), kPositive, positive_flops);
      // Beyond 10, exp(mu + sigma z) under- and overflows for plausible z.
      s.sigma = number(m.require("sigma"), "a number from 0 to 10", [](double x) { return x >= 0 && x <= 10; });
      break;
    case SizeDistribution::Kind::kUniform:
    case SizeDistribution::Kind::kBoundedPareto: {
      s.low = amount(m.require("low"), kPositive, positive_flops);
      const Field high = m.require("high");
      s.high = amount(high, kPositive, positive_flops);
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

}  // namespace scenario_detail
}  // namespace fulcrum
