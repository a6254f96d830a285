// The `workload:` map: synthetic Poisson arrivals (size distribution, rate profile) or a
// workload read from files. Each form refuses the other's keys, so that a key that would
// be silently ignored, such as a rate beside a trace, is an error instead.
#include <cstdint>
#include <string>

#include "scenario/loader.h"

namespace fulcrum {
namespace scenario_detail {

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
      t.files.push_back(existing_file(list_entry(*files, i, files->node[i]), type + " file"));
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
  if (auto extra = m.first_not_in(dist->keys, "dist")) {
    fail(extra->second, f.path,
         "dist " + name + " takes no '" + std::string(extra->first) + "' (it takes: " + listing(dist->keys) + ")");
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

}  // namespace scenario_detail
}  // namespace fulcrum
