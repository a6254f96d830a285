// The scheduler core's flags (real/scheduler_flags.h): every field of SchedulerConfig goes
// through scheduler_flags() and back through the CLI binding unchanged, so a field added to
// the config without a flag fails here; and the autoscaler's window rule matches the
// scenario loader's.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "real/scheduler_flags.h"

namespace fulcrum::real {
namespace {

// How many fields an aggregate has: the most initializers T{...} takes.
struct AnyField {
  template <typename T>
  operator T() const;
};
template <typename T, std::size_t... I>
constexpr bool takes_initializers(std::index_sequence<I...>) {
  return requires { T{(void(I), AnyField{})...}; };
}
template <typename T, std::size_t N = 0>
constexpr std::size_t field_count() {
  if constexpr (takes_initializers<T>(std::make_index_sequence<N + 1>{})) {
    return field_count<T, N + 1>();
  } else {
    return N;
  }
}

// Every field the flags carry, by name. A new field of either struct changes its count
// below: give it a flag in real/scheduler_flags.cc (both functions), a line here, and a
// non-default value in every_field_set().
auto fields(const AutoscaleConfig& a) {
  return std::tie(a.enabled, a.metric, a.target, a.min_workers, a.max_workers, a.period, a.window,
                  a.scale_out_cooldown, a.scale_in_cooldown, a.tolerance, a.scale_in_after);
}
auto fields(const SchedulerConfig& c) {
  // Not the epoch (the daemon's own), the described workers (real mode has only those
  // that join) nor pass_per_instant (real mode passes after every event): never flags.
  return std::tuple_cat(std::tie(c.seed, c.queue_cap, c.max_attempts, c.suspect_after, c.dead_after,
                                 c.detector_period, c.retry_backoff, c.task_timeout, c.quarantine_after,
                                 c.quarantine_window, c.quarantine_for, c.backlog_alert, c.priority,
                                 c.network_latency, c.network_bandwidth, c.discipline, c.backfill,
                                 c.shortest_first, c.exact_estimates, c.tenants, c.fairness,
                                 c.preemption.enabled, c.preemption.grace, c.preemption.requeue),
                        fields(c.autoscale));
}
constexpr std::size_t kSchedulerFields = 26;  // the 21 above (preemption's three as one), the epoch, the autoscaler,
                                              // pass_per_instant, described
constexpr std::size_t kAutoscaleFields = 11;

SchedulerConfig every_field_set() {
  SchedulerConfig c;
  c.seed = 987654321987ULL;
  c.queue_cap = 3;
  c.epoch = 42;
  c.max_attempts = 7;
  c.suspect_after = 1.5;
  c.dead_after = 4.25;
  c.detector_period = 0.1;  // not exact in binary: the flags must carry every bit
  c.retry_backoff = 0.7;
  c.task_timeout = 12.5;
  c.quarantine_after = 2;
  c.quarantine_window = 33.3;
  c.quarantine_for = 17.1;
  c.backlog_alert = 99;
  c.priority = SchedulerConfig::Priority::kCriticalPath;
  c.network_latency = 1e-4;
  c.network_bandwidth = 1e8 / 3;
  c.discipline = SchedulerConfig::Discipline::kSkipAhead;
  c.backfill = SchedulerConfig::Backfill::kConservative;
  c.shortest_first = true;
  c.exact_estimates = true;
  c.tenants = {TenantSpec{"alice", 2.5, Resources{.cores = 8, .memory = 1e9}, Resources{.cores = 16, .other = {{"licence", 2}}}},
               TenantSpec{"bob", 1, {}, {}}};
  c.fairness = SchedulerConfig::Fairness::kRunningTasks;
  c.preemption.enabled = true;
  c.preemption.grace = 2.5;
  c.preemption.requeue = false;
  AutoscaleConfig& a = c.autoscale;
  a.enabled = true;
  a.metric = AutoscaleConfig::Metric::kBacklog;
  a.target = 1.7;
  a.min_workers = 2;
  a.max_workers = 9;
  a.period = 2.5;
  a.window = 7.5;
  a.scale_out_cooldown = 3.25;
  a.scale_in_cooldown = 45.5;
  a.tolerance = 0.15;
  a.scale_in_after = 4;
  return c;
}

// Parses `flags` as `fulcrum scheduler`'s core options into a fresh config.
SchedulerConfig parse(std::vector<std::string> flags) {
  SchedulerConfig parsed;
  CLI::App app{"scheduler"};
  add_scheduler_flags(app, parsed);
  std::reverse(flags.begin(), flags.end());  // CLI11 takes a vector last argument first
  app.parse(flags);
  return parsed;
}

// EXPECT_* are statements: one call per field, folded over the indices.
template <std::size_t I, typename Tuple>
void expect_field_differs(const Tuple& a, const Tuple& b) {
  EXPECT_NE(std::get<I>(a), std::get<I>(b)) << "field " << I << " of fields() still has its default";
}
template <typename Tuple, std::size_t... I>
void expect_each_differs(const Tuple& a, const Tuple& b, std::index_sequence<I...>) {
  (expect_field_differs<I>(a, b), ...);
}

template <std::size_t I, typename Tuple>
void expect_field_equal(const Tuple& a, const Tuple& b) {
  EXPECT_EQ(std::get<I>(a), std::get<I>(b)) << "field " << I << " of fields() changed through the flags";
}
template <typename Tuple, std::size_t... I>
void expect_each_equal(const Tuple& a, const Tuple& b, std::index_sequence<I...>) {
  (expect_field_equal<I>(a, b), ...);
}

TEST(SchedulerFlags, TheTestNamesEveryFieldOfTheConfig) {
  EXPECT_EQ(field_count<SchedulerConfig>(), kSchedulerFields)
      << "SchedulerConfig changed: give a new field a flag (real/scheduler_flags.cc) and a line in fields()";
  EXPECT_EQ(field_count<AutoscaleConfig>(), kAutoscaleFields)
      << "AutoscaleConfig changed: give a new field a flag (real/scheduler_flags.cc) and a line in fields()";
  const SchedulerConfig config = every_field_set();  // named: fields() ties references into it
  const auto set = fields(config);
  const SchedulerConfig defaults;
  constexpr auto n = std::tuple_size_v<decltype(set)>;
  static_assert(n == kSchedulerFields - 4 + 2 + kAutoscaleFields);  // preemption: 3 fields, 1 member
  expect_each_differs(set, fields(defaults), std::make_index_sequence<n>{});
}

TEST(SchedulerFlags, EveryFieldRoundTripsThroughTheFlags) {
  const SchedulerConfig config = every_field_set();
  const SchedulerConfig parsed = parse(scheduler_flags(config));
  constexpr auto n = std::tuple_size_v<decltype(fields(config))>;
  expect_each_equal(fields(config), fields(parsed), std::make_index_sequence<n>{});
  EXPECT_EQ(parsed.epoch, SchedulerConfig{}.epoch) << "the epoch is the daemon's, not a flag";
}

TEST(SchedulerFlags, EnumsAreWrittenAndReadByName) {
  SchedulerConfig config;
  config.priority = SchedulerConfig::Priority::kRandom;
  config.autoscale.enabled = true;
  config.autoscale.metric = AutoscaleConfig::Metric::kUtilisation;
  const std::vector<std::string> flags = scheduler_flags(config);
  const auto after = [&](const std::string& flag) {
    const auto it = std::find(flags.begin(), flags.end(), flag);
    return it != flags.end() && it + 1 != flags.end() ? *(it + 1) : std::string("(missing)");
  };
  EXPECT_EQ(after("--priority"), "random");
  EXPECT_EQ(after("--autoscale-metric"), "utilisation");
  EXPECT_EQ(parse({"--priority", "critical_path"}).priority, SchedulerConfig::Priority::kCriticalPath);
  EXPECT_EQ(parse({"--autoscale-metric", "backlog"}).autoscale.metric, AutoscaleConfig::Metric::kBacklog);
  EXPECT_THROW(parse({"--priority", "lifo"}), CLI::ValidationError);
  EXPECT_THROW(parse({"--autoscale-metric", "memory"}), CLI::ValidationError);
}

TEST(SchedulerFlags, AutoscalerOffWritesNoAutoscaleFlags) {
  for (const std::string& flag : scheduler_flags(SchedulerConfig{})) {
    EXPECT_NE(flag.rfind("--autoscale", 0), 0u) << flag;
  }
}

TEST(SchedulerFlags, AWindowNotGivenIsAtLeastThePeriod) {
  const SchedulerConfig defaults;
  EXPECT_EQ(parse({}).autoscale.window, defaults.autoscale.window);
  const SchedulerConfig parsed = parse({"--autoscale-period", "45"});
  EXPECT_EQ(parsed.autoscale.period, 45);
  EXPECT_EQ(parsed.autoscale.window, 45);
  EXPECT_EQ(parse({"--autoscale-period", "45", "--autoscale-window", "45"}).autoscale.window, 45);
}

TEST(SchedulerFlags, AWindowGivenBelowThePeriodIsRefused) {
  try {
    parse({"--autoscale-period", "10", "--autoscale-window", "5"});
    FAIL() << "a window below the period was accepted";
  } catch (const CLI::ValidationError& e) {
    EXPECT_NE(std::string(e.what()).find("--autoscale-window"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--autoscale-period (10)"), std::string::npos) << e.what();
  }
  // The default period (5 s) counts too.
  EXPECT_THROW(parse({"--autoscale-window", "2"}), CLI::ValidationError);
}

}  // namespace
}  // namespace fulcrum::real
