// Seeded event sequences through the scheduler state-machine harness
// (core/tests/scheduler_harness.h): every invariant after every event, for every policy
// and a spread of configurations. Built with the core's asserts on (CMakeLists.txt:
// fulcrum_core_checked). To see one sequence event by event:
//   FULCRUM_HARNESS_SEED=N core_checked_tests --gtest_filter='SchedulerProperty.*'
// and to run seeds 1..N instead of the default few hundred: FULCRUM_HARNESS_SEEDS=N.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/tests/scheduler_harness.h"

namespace fulcrum::harness {
namespace {

constexpr std::uint64_t kSeeds = 400;
constexpr std::size_t kEvents = 400;

// A core assert aborts the process: name the seed that did it.
volatile std::uint64_t g_seed = 0;
extern "C" void on_abort(int) {
  char buf[128];
  const int n = std::snprintf(buf, sizeof buf, "\nscheduler property test: abort in seed %llu (rerun with "
                              "FULCRUM_HARNESS_SEED=%llu to see its events)\n",
                              static_cast<unsigned long long>(g_seed), static_cast<unsigned long long>(g_seed));
  if (n > 0) (void)!::write(2, buf, static_cast<std::size_t>(n));
  std::signal(SIGABRT, SIG_DFL);
  std::raise(SIGABRT);
}

Outcome run_seed(std::uint64_t seed, bool log, bool echo = false) {
  RngChoices choices(seed);
  Options options;
  options.max_events = kEvents;
  options.log = log;
  options.echo = echo;
  return run(choices, options);
}

TEST(SchedulerProperty, InvariantsHoldAfterEveryEvent) {
  std::signal(SIGABRT, on_abort);
  std::uint64_t first = 1, last = kSeeds;
  if (const char* many = std::getenv("FULCRUM_HARNESS_SEEDS")) last = std::strtoull(many, nullptr, 10);
  if (const char* one = std::getenv("FULCRUM_HARNESS_SEED")) first = last = std::strtoull(one, nullptr, 10);
  Outcome sum;
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    g_seed = seed;
    const Outcome out = run_seed(seed, false, first == last);
    if (!out.ok) {
      // Deterministic: the same seed again, with its log.
      FAIL() << "seed " << seed << ": " << out.failure << "\n" << describe(run_seed(seed, true));
    }
    sum.events += out.events;
    sum.dispatches += out.dispatches;
    sum.completions += out.completions;
    sum.failed_for_good += out.failed_for_good;
    sum.cancels += out.cancels;
    sum.failovers += out.failovers;
    sum.claims += out.claims;
    sum.deaths += out.deaths;
    sum.timeouts += out.timeouts;
    sum.scale_outs += out.scale_outs;
    sum.quarantines += out.quarantines;
    sum.stale_reports += out.stale_reports;
    sum.preemptions += out.preemptions;
  }
  std::signal(SIGABRT, SIG_DFL);
  if (first != last) {
    // The sequences reach what they are meant to exercise.
    EXPECT_GT(sum.completions, 1000u);
    EXPECT_GT(sum.failed_for_good, 10u);
    EXPECT_GT(sum.cancels, 50u);
    EXPECT_GT(sum.failovers, 50u);
    EXPECT_GT(sum.claims, 50u);
    EXPECT_GT(sum.deaths, 50u);
    EXPECT_GT(sum.timeouts, 10u);
    EXPECT_GT(sum.scale_outs, 10u);
    EXPECT_GT(sum.quarantines, 10u);
    EXPECT_GT(sum.stale_reports, 100u);
    EXPECT_GT(sum.preemptions, 10u);
  }
  std::printf("%zu events: %zu dispatches, %zu completions, %zu failed for good, %zu cancels, %zu failovers, "
              "%zu claims, %zu deaths, %zu timeouts, %zu scale-outs, %zu quarantines, %zu stale reports, "
              "%zu preemptions\n",
              sum.events, sum.dispatches, sum.completions, sum.failed_for_good, sum.cancels, sum.failovers, sum.claims,
              sum.deaths, sum.timeouts, sum.scale_outs, sum.quarantines, sum.stale_reports, sum.preemptions);
}

TEST(SchedulerProperty, SameEventsGiveTheSameCommands) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const Outcome a = run_seed(seed, false);
    const Outcome b = run_seed(seed, false);
    EXPECT_EQ(a.digest, b.digest) << "seed " << seed;
    EXPECT_EQ(a.events, b.events) << "seed " << seed;
  }
}

}  // namespace
}  // namespace fulcrum::harness
