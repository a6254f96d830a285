// The scheduler core's flags, read (add_scheduler_flags) and written (scheduler_flags) by
// one file. A field of SchedulerConfig gets a flag in both functions, or the round-trip
// test (real/tests/scheduler_flags_test.cc) fails. The help text, names and defaults are
// what operators and docs/real/index.md know: change them only with the docs.
#include "real/scheduler_flags.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

namespace fulcrum::real {
namespace {

// The enums' names on the command line (the scenario's words for them).
const std::map<std::string, SchedulerConfig::Priority> kPriorities{
    {"fifo", SchedulerConfig::Priority::kFifo},
    {"critical_path", SchedulerConfig::Priority::kCriticalPath},
    {"random", SchedulerConfig::Priority::kRandom}};
const std::map<std::string, SchedulerConfig::Discipline> kDisciplines{
    {"strict", SchedulerConfig::Discipline::kStrict},
    {"skip_ahead", SchedulerConfig::Discipline::kSkipAhead}};
const std::map<std::string, SchedulerConfig::Fairness> kFairness{
    {"none", SchedulerConfig::Fairness::kNone},
    {"drf", SchedulerConfig::Fairness::kDrf},
    {"fair", SchedulerConfig::Fairness::kRunningTasks}};

// Tenants as JSON (docs/fairness.md): {"NAME": {"weight": W, "quota": {...}, "limit": {...}}},
// the scenario's `tenants:` map; amounts are cores, memory (bytes), gpus or any name.
nlohmann::json amounts_json(const Resources& r) {
  nlohmann::json j = nlohmann::json::object();
  if (r.cores > 0) j["cores"] = r.cores;
  if (r.memory > 0) j["memory"] = r.memory;
  if (r.gpus > 0) j["gpus"] = r.gpus;
  for (const auto& [name, amount] : r.other) j[name] = amount;
  return j;
}

std::string tenants_json(const std::vector<TenantSpec>& tenants) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const TenantSpec& t : tenants) {
    j[t.name] = {{"weight", t.weight}, {"quota", amounts_json(t.quota)}, {"limit", amounts_json(t.limit)}};
  }
  return j.dump();
}

Resources amounts_of(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw CLI::ValidationError("--tenants", where + ": must be a map of amounts");
  Resources r;
  for (const auto& [name, v] : j.items()) {
    if (!v.is_number() || v.get<double>() < 0) {
      throw CLI::ValidationError("--tenants", where + "." + name + ": must be a number >= 0");
    }
    const double x = v.get<double>();
    if (name == "cores") r.cores = x;
    else if (name == "memory") r.memory = x;
    else if (name == "gpus") r.gpus = x;
    else r.other[name] = x;
  }
  return r;
}

// `text` is JSON, or @FILE holding it.
std::vector<TenantSpec> parse_tenants(std::string text) {
  if (!text.empty() && text[0] == '@') {
    std::ifstream in(text.substr(1));
    if (!in) throw CLI::ValidationError("--tenants", "cannot read " + text.substr(1));
    std::stringstream s;
    s << in.rdbuf();
    text = s.str();
  }
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    throw CLI::ValidationError("--tenants", "must be a JSON map such as {\"alice\": {\"weight\": 2, \"quota\": {\"cores\": 8}}}");
  }
  std::vector<TenantSpec> out;
  for (const auto& [name, v] : j.items()) {
    if (!v.is_object()) throw CLI::ValidationError("--tenants", name + ": must be a map");
    TenantSpec t;
    t.name = name;
    for (const auto& [key, value] : v.items()) {
      if (key == "weight") {
        if (!value.is_number() || !(value.get<double>() > 0)) {
          throw CLI::ValidationError("--tenants", name + ".weight: must be a positive number");
        }
        t.weight = value.get<double>();
      } else if (key == "quota") {
        t.quota = amounts_of(nlohmann::json(value), name + ".quota");
      } else if (key == "limit") {
        t.limit = amounts_of(nlohmann::json(value), name + ".limit");
      } else {
        throw CLI::ValidationError("--tenants", name + ": unknown key '" + key + "' (known: weight, quota, limit)");
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

const std::map<std::string, SchedulerConfig::Backfill> kBackfills{
    {"none", SchedulerConfig::Backfill::kNone},
    {"easy", SchedulerConfig::Backfill::kEasy},
    {"conservative", SchedulerConfig::Backfill::kConservative}};
const std::map<std::string, AutoscaleConfig::Metric> kMetrics{
    {"utilisation", AutoscaleConfig::Metric::kUtilisation},
    {"backlog", AutoscaleConfig::Metric::kBacklog}};

template <typename Enum>
std::string name_of(const std::map<std::string, Enum>& names, Enum value) {
  for (const auto& [name, v] : names) {
    if (v == value) return name;
  }
  return std::to_string(static_cast<int>(value));  // a value given as its number
}

// An enum option read by name: the names are checked first, so that an error lists them
// (CLI11 would print the mapped values of a uint8_t enum as characters), then mapped
// straight to the enum.
template <typename Enum>
CLI::Option* by_name(CLI::Option* option, const std::map<std::string, Enum>& names,
                     const std::vector<std::string>& shown) {
  option->transform(CLI::CheckedTransformer(names).description(""));
  option->transform(CLI::IsMember(shown));  // transforms run newest first
  return option->type_name("TEXT");
}

std::string number(double x, const char* format = "%.17g") {
  char text[32];
  std::snprintf(text, sizeof text, format, x);
  return text;
}

}  // namespace

std::vector<std::string> scheduler_flags(const SchedulerConfig& c) {
  std::vector<std::string> flags{"--seed", std::to_string(c.seed), "--queue-cap", std::to_string(c.queue_cap),
                                 "--max-attempts", std::to_string(c.max_attempts),
                                 "--suspect-after", number(c.suspect_after), "--dead-after", number(c.dead_after),
                                 "--detector-period", number(c.detector_period),
                                 "--retry-backoff", number(c.retry_backoff), "--task-timeout", number(c.task_timeout),
                                 "--quarantine-after", std::to_string(c.quarantine_after),
                                 "--quarantine-window", number(c.quarantine_window),
                                 "--quarantine-for", number(c.quarantine_for),
                                 "--backlog-alert", std::to_string(c.backlog_alert),
                                 "--priority", name_of(kPriorities, c.priority),
                                 "--queue", name_of(kDisciplines, c.discipline),
                                 "--network-latency", number(c.network_latency),
                                 "--network-bandwidth", number(c.network_bandwidth),
                                 "--backfill", name_of(kBackfills, c.backfill)};
  if (c.shortest_first) flags.push_back("--shortest-first");
  if (c.exact_estimates) flags.push_back("--exact-estimates");
  flags.insert(flags.end(), {"--fairness", name_of(kFairness, c.fairness)});
  if (!c.tenants.empty()) flags.insert(flags.end(), {"--tenants", tenants_json(c.tenants)});
  if (c.preemption.enabled) {
    flags.insert(flags.end(), {"--preemption", "--preemption-grace", number(c.preemption.grace),
                               "--preemption-victims", c.preemption.requeue ? "requeue" : "fail"});
  }
  const AutoscaleConfig& a = c.autoscale;
  if (a.enabled) {
    flags.insert(flags.end(), {"--autoscale", "--autoscale-metric", name_of(kMetrics, a.metric),
                               "--autoscale-target", number(a.target),
                               "--autoscale-min", std::to_string(a.min_workers),
                               "--autoscale-max", std::to_string(a.max_workers),
                               "--autoscale-period", number(a.period),
                               "--autoscale-window", number(a.window),
                               "--autoscale-cooldown-out", number(a.scale_out_cooldown),
                               "--autoscale-cooldown-in", number(a.scale_in_cooldown),
                               "--autoscale-tolerance", number(a.tolerance),
                               "--autoscale-scale-in-after", std::to_string(a.scale_in_after)});
  }
  return flags;
}

void add_scheduler_flags(CLI::App& s, SchedulerConfig& c) {
  s.add_option("--queue-cap", c.queue_cap, "Per-worker queue cap (-1 unbounded, 0 late binding)")->capture_default_str();
  s.add_option("--seed", c.seed, "Seed of the policy's random choices")->capture_default_str();
  s.add_option("--max-attempts", c.max_attempts, "Dispatches before a failing task fails for good")->capture_default_str();
  s.add_option("--suspect-after", c.suspect_after, "Heartbeat silence (s) before a worker is suspected (0: off)");
  s.add_option("--dead-after", c.dead_after, "Heartbeat silence (s) before it is declared dead (0: off)");
  s.add_option("--detector-period", c.detector_period, "Seconds between failure-detector checks")->capture_default_str();
  s.add_option("--retry-backoff", c.retry_backoff, "Seconds before a failed attempt is retried, doubling");
  s.add_option("--task-timeout", c.task_timeout, "Seconds a running attempt may take (0: none)");
  s.add_option("--quarantine-after", c.quarantine_after, "Failures within the window that bench a worker (0: never)");
  s.add_option("--quarantine-window", c.quarantine_window, "Seconds")->capture_default_str();
  s.add_option("--quarantine-for", c.quarantine_for, "Seconds a benched worker gets no tasks")->capture_default_str();
  CLI::Option* priority = s.add_option(
      "--priority", c.priority, "Order of the central queue for DAG jobs: fifo, critical_path (upward rank) or random");
  by_name(priority, kPriorities, {"fifo", "critical_path", "random"})->default_str(name_of(kPriorities, c.priority));
  CLI::Option* queue = s.add_option(
      "--queue", c.discipline, "Queue discipline: strict (head-of-line waits) or skip_ahead (the first task that fits goes)");
  by_name(queue, kDisciplines, {"strict", "skip_ahead"})->default_str(name_of(kDisciplines, c.discipline));
  s.add_option("--network-latency", c.network_latency,
               "Seconds a message takes between two workers, as planners estimate it")->capture_default_str();
  s.add_option("--network-bandwidth", c.network_bandwidth,
               "Bytes per second between two workers, as planners estimate it")->capture_default_str();
  s.add_option("--backlog-alert", c.backlog_alert, "Alert when this many tasks wait centrally (0: never)");
  CLI::Option* backfill = s.add_option(
      "--backfill", c.backfill,
      "Backfilling (docs/backfilling.md): none, easy or conservative; needs --queue-cap 0");
  by_name(backfill, kBackfills, {"none", "easy", "conservative"})->default_str(name_of(kBackfills, c.backfill));
  s.add_flag("--shortest-first", c.shortest_first, "Order waiting jobs by estimate (SJF), then arrival");
  s.add_flag("--exact-estimates", c.exact_estimates, "Estimate run times as flops / speed, not the submitter's");

  // Tenants and fair sharing (docs/fairness.md).
  CLI::Option* fairness = s.add_option(
      "--fairness", c.fairness, "Fair sharing among tenants: none, drf or fair (running tasks); needs --queue-cap 0");
  by_name(fairness, kFairness, {"none", "drf", "fair"})->default_str(name_of(kFairness, c.fairness));
  s.add_option_function<std::string>(
      "--tenants", [&c](const std::string& text) { c.tenants = parse_tenants(text); },
      "Tenants as JSON (or @FILE): {\"NAME\": {\"weight\": W, \"quota\": {\"cores\": N}, \"limit\": {...}}}");
  s.add_flag("--preemption", c.preemption.enabled, "Let owed quotas and higher priority classes preempt (with --fairness)");
  s.add_option("--preemption-grace", c.preemption.grace, "Seconds a preemption victim runs on before it is cancelled");
  s.add_option_function<std::string>(
       "--preemption-victims",
       [&c](const std::string& v) { c.preemption.requeue = v == "requeue"; }, "requeue (default) or fail")
      ->check(CLI::IsMember({"requeue", "fail"}));

  // Autoscaling (docs/autoscaling.md): the core's autoscaler. The daemon's commands that
  // start and stop workers are its own options (real/scheduler_daemon.h).
  AutoscaleConfig& as = c.autoscale;
  s.add_flag("--autoscale", as.enabled, "Grow and shrink the cluster (needs --scale-out-command)");
  // Through a function: CLI11 would show the bound default with core's to_string(Metric),
  // whose string_view it cannot take.
  CLI::Option* metric = s.add_option_function<AutoscaleConfig::Metric>(
      "--autoscale-metric", [&as](const AutoscaleConfig::Metric& m) { as.metric = m; }, "utilisation or backlog");
  by_name(metric, kMetrics, {"utilisation", "backlog"})->default_str(name_of(kMetrics, as.metric));
  s.add_option("--autoscale-target", as.target, "The metric's target")->capture_default_str();
  s.add_option("--autoscale-min", as.min_workers, "Workers, at least")->capture_default_str()->check(CLI::Range(1u, 1000000u));
  s.add_option("--autoscale-max", as.max_workers, "Workers, at most");
  s.add_option("--autoscale-period", as.period, "Seconds between evaluations")->capture_default_str();
  CLI::Option* window =
      s.add_option("--autoscale-window", as.window, "Seconds of load a metric averages")->capture_default_str();
  s.add_option("--autoscale-cooldown-out", as.scale_out_cooldown, "Seconds after a scale-out before the next")->capture_default_str();
  s.add_option("--autoscale-cooldown-in", as.scale_in_cooldown, "Seconds after any scaling before a scale-in")->capture_default_str();
  s.add_option("--autoscale-tolerance", as.tolerance, "Hysteresis band around the target (fraction)")->capture_default_str();
  s.add_option("--autoscale-scale-in-after", as.scale_in_after, "Low evaluations in a row before a scale-in")->capture_default_str();

  // The window is whole periods of load: a default one grows to the period, a given one
  // shorter than the period is a mistake (the scenario loader's rule).
  s.final_callback([&as, window] {
    if (window->count() == 0) {
      as.window = std::max(as.window, as.period);
    } else if (!(as.window >= as.period)) {
      throw CLI::ValidationError(window->get_name(), "must be at least --autoscale-period (" + number(as.period, "%g") +
                                                         "), got " + number(as.window, "%g"));
    }
  });
}

}  // namespace fulcrum::real
