// The run's settings beside cluster and workload: the policy, real-mode emulation,
// failure recovery, the autoscaler and host power. Small maps each, but with rules between
// their keys (dead_after > suspect_after, min <= initial <= max, busy >= idle) that are
// checked where they are read, so that the message names the key that breaks them.
#include <algorithm>
#include <cstdint>
#include <exception>
#include <string>

#include "policies/registry.h"
#include "scenario/loader.h"

namespace fulcrum {
namespace scenario_detail {

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

DisciplineSpec Loader::discipline(const Field& f) const {
  DisciplineSpec d;
  d.spec = text(f);
  const std::string_view spec = d.spec;
  const std::size_t colon = spec.find(':');
  d.kind = std::string(spec.substr(0, colon));
  if (d.kind != "fifo" && d.kind != "fcfs" && d.kind != "easy" && d.kind != "conservative" && !d.fair()) {
    fail(f, "unknown discipline '" + d.kind + "' (known: fifo, fcfs, easy, conservative, drf, fair)");
  }
  if (colon == std::string_view::npos) return d;
  if (d.fair()) fail(f, "discipline " + d.kind + " takes no parameters");
  std::string_view rest = spec.substr(colon + 1);
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view param = rest.substr(0, comma);
    const std::size_t eq = param.find('=');
    const std::string key(param.substr(0, eq));
    const std::string value(eq == std::string_view::npos ? "" : param.substr(eq + 1));
    if (eq == std::string_view::npos) fail(f, "parameter '" + std::string(param) + "' is not key=value");
    if (key == "order") {
      if (value != "fcfs" && value != "sjf") fail(f, "order must be fcfs or sjf, got '" + value + "'");
      d.order = value;
    } else if (key == "estimates") {
      if (value != "user" && value != "exact") fail(f, "estimates must be user or exact, got '" + value + "'");
      d.estimates = value;
    } else {
      fail(f, "unknown parameter '" + key + "' of discipline " + d.kind + " (known: order, estimates)");
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return d;
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

}  // namespace scenario_detail
}  // namespace fulcrum
