// Fault injection in simulation, end to end: each fault kind has its defining effect
// (measured in numbers that could come out wrong), recovery never loses or duplicates a
// task, runs with faults stay deterministic, and `fulcrum compare` shows the recovery
// figures side by side.
//
// Every scenario here is small (at most 6 hosts, at most 400 tasks), so the whole file runs
// in seconds. Unless a test says otherwise: identical 1 Gflop/s single-slot hosts named
// w-0, w-1, ..., constant 1 Gflop tasks (1 s each), heartbeat every 1 s, suspected after
// 3 s of silence, declared dead after 6 s.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/random.h"
#include "policies/registry.h"
#include "scenario/load.h"
#include "sim/isolated.h"

namespace fulcrum {
namespace {

constexpr double kHeartbeat = 1, kSuspectAfter = 3, kDeadAfter = 6;
// What a notice may lag behind the detector's period: the messages of the modelled
// network take a few milliseconds.
constexpr double kSlack = 0.1;

// The host index of name "w-K".
std::uint32_t host_index(const RunRecords& r, const std::string& name) {
  for (std::uint32_t h = 0; h < r.workers.size(); ++h) {
    if (r.workers[h].name == name) return h;
  }
  ADD_FAILURE() << "no host " << name;
  return 0;
}

struct Options {
  int hosts = 4;
  double rate = 2.4;  // 60 % load on 4 hosts
  int tasks = 400;
  std::string policy = "round_robin";
  int queue_cap = -1;
  std::uint64_t seed = 11;
  std::string size = "{dist: constant, value: 1e9}";
  std::string recovery = "{heartbeat_interval: 1, suspect_after: 3, dead_after: 6}";
  std::string faults;  // YAML list items, one per line ("  - {...}"), or empty for none
};

std::string yaml_of(const Options& o) {
  std::string y = "seed: " + std::to_string(o.seed) + "\ncluster:\n  hosts: [{count: " + std::to_string(o.hosts) +
                  ", speed: 1e9, slots: 1}]\n  queue_cap: " + std::to_string(o.queue_cap) +
                  "\nworkload: {type: poisson, rate: " + std::to_string(o.rate) + ", size: " + o.size +
                  ", tasks: " + std::to_string(o.tasks) + "}\npolicy: " + o.policy + "\nrecovery: " + o.recovery + "\n";
  if (!o.faults.empty()) y += "faults:\n" + o.faults;
  return y;
}

Expected<RunRecords> run(const Options& o) {
  auto s = load_scenario_text(yaml_of(o), "faults.yaml");
  if (!s.ok()) return Error{"scenario refused: " + s.error() + "\n" + yaml_of(o)};
  return sim::simulate(*s);
}

std::vector<EventRecord> events_of(const RunRecords& r, const std::string& kind, const std::string& host = "*") {
  std::vector<EventRecord> out;
  for (const EventRecord& e : r.events) {
    if (e.kind == kind && (host == "*" || e.host == host)) out.push_back(e);
  }
  return out;
}

// The first event of `kind` about `host` at or after `after` (time -1 if none).
EventRecord first_event(const RunRecords& r, const std::string& kind, const std::string& host, double after) {
  for (const EventRecord& e : r.events) {
    if (e.kind == kind && e.host == host && e.time >= after) return e;
  }
  return EventRecord{-1, kind, host, "<none>", false};
}

// "3 tasks moved" -> 3.
int tasks_moved(const EventRecord& dead) {
  int n = -1;
  std::sscanf(dead.detail.c_str(), "%d", &n);
  return n;
}

std::string events_text(const RunRecords& r) {
  std::string out;
  for (const EventRecord& e : r.events) {
    if (e.kind == "task_retry") continue;
    out += std::to_string(e.time) + " " + e.kind + " " + e.host + " " + e.detail + "\n";
  }
  return out;
}

// Every task id 0..n-1 exactly once; every task finished once with end >= start >= submit.
::testing::AssertionResult all_finished_once(const RunRecords& r, std::uint64_t n) {
  if (r.tasks.size() != n) return ::testing::AssertionFailure() << r.tasks.size() << " task records, want " << n;
  std::vector<int> seen(n, 0);
  for (const TaskRecord& t : r.tasks) {
    if (t.id >= n) return ::testing::AssertionFailure() << "task id " << t.id << " out of range";
    if (++seen[t.id] > 1) return ::testing::AssertionFailure() << "task " << t.id << " recorded twice";
    if (t.state != TaskState::kFinished) {
      return ::testing::AssertionFailure() << "task " << t.id << " is " << to_string(t.state) << ", not finished";
    }
    if (!(t.submit <= t.start && t.start <= t.end)) {
      return ::testing::AssertionFailure() << "task " << t.id << ": submit " << t.submit << " start " << t.start
                                           << " end " << t.end;
    }
    if (t.attempts < 1) return ::testing::AssertionFailure() << "task " << t.id << " finished with 0 attempts";
    if (t.worker >= r.workers.size()) return ::testing::AssertionFailure() << "task " << t.id << " has no host";
  }
  const Summary& s = r.summary;
  if (s.tasks_completed != n || s.tasks_lost != 0 || s.tasks_failed != 0) {
    return ::testing::AssertionFailure() << "completed " << s.tasks_completed << " failed " << s.tasks_failed
                                         << " lost " << s.tasks_lost << " of " << n;
  }
  std::uint64_t per_host = 0;
  for (const WorkerRecord& w : r.workers) per_host += w.tasks;
  if (per_host != n) return ::testing::AssertionFailure() << "hosts completed " << per_host << " tasks, want " << n;
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult same_tasks(const RunRecords& a, const RunRecords& b) {
  if (a.tasks.size() != b.tasks.size()) {
    return ::testing::AssertionFailure() << a.tasks.size() << " vs " << b.tasks.size() << " tasks";
  }
  for (std::size_t i = 0; i < a.tasks.size(); ++i) {
    const TaskRecord& x = a.tasks[i];
    const TaskRecord& y = b.tasks[i];
    if (x.id != y.id || x.job != y.job || x.submit != y.submit || x.start != y.start || x.end != y.end ||
        x.worker != y.worker || x.attempts != y.attempts || x.state != y.state) {
      return ::testing::AssertionFailure() << "task record " << i << " differs: (" << x.id << ", " << x.submit << ", "
                                           << x.start << ", " << x.end << ", w" << x.worker << ", " << x.attempts
                                           << ") vs (" << y.id << ", " << y.submit << ", " << y.start << ", " << y.end
                                           << ", w" << y.worker << ", " << y.attempts << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult same_events(const RunRecords& a, const RunRecords& b) {
  if (a.events.size() != b.events.size()) {
    return ::testing::AssertionFailure() << a.events.size() << " vs " << b.events.size() << " events";
  }
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    const EventRecord& x = a.events[i];
    const EventRecord& y = b.events[i];
    if (x.time != y.time || x.kind != y.kind || x.host != y.host || x.detail != y.detail || x.alert != y.alert) {
      return ::testing::AssertionFailure() << "event " << i << " differs: " << x.time << " " << x.kind << " " << x.host
                                           << " '" << x.detail << "' vs " << y.time << " " << y.kind << " " << y.host
                                           << " '" << y.detail << "'";
    }
  }
  return ::testing::AssertionSuccess();
}

bool same_summary(const Summary& a, const Summary& b) {
  const auto fa = summary_fields(a);
  const auto fb = summary_fields(b);
  return fa == fb;
}

// ---------------------------------------------------------------------------------------
// One test per fault kind.

TEST(FaultCrash, DetectedWithinDeadAfterTasksMoveAndTheHostWorksAgainAfterRecovery) {
  Options o;
  o.faults = "  - {kind: crash, host: w-1, at: 30, recover_after: 40}\n";
  auto r = run(o);
  ASSERT_TRUE(r.ok()) << r.error();
  const double crash = 30, recover = 70;
  SCOPED_TRACE(events_text(*r));

  const auto crashes = events_of(*r, "crash", "w-1");
  ASSERT_EQ(crashes.size(), 1u);
  EXPECT_DOUBLE_EQ(crashes[0].time, crash);
  const auto recovers = events_of(*r, "recover", "w-1");
  ASSERT_EQ(recovers.size(), 1u);
  EXPECT_DOUBLE_EQ(recovers[0].time, recover);
  EXPECT_EQ(r->summary.faults_injected, 1u);  // fault starts

  // Declared dead once: the last message it sent is at most one heartbeat before the
  // crash, and the detector checks once per heartbeat interval.
  const auto dead = events_of(*r, "worker_dead", "w-1");
  ASSERT_EQ(dead.size(), 1u);
  const double latency = dead[0].time - crash;
  EXPECT_GE(latency, kDeadAfter - kHeartbeat);
  EXPECT_LE(latency, kDeadAfter + kHeartbeat + kSlack);
  EXPECT_TRUE(dead[0].alert);
  EXPECT_NEAR(r->summary.detection_latency_mean, latency, 1e-9);
  // Suspected first (no new tasks), between suspect_after and dead_after.
  const EventRecord suspected = first_event(*r, "worker_suspected", "w-1", crash);
  ASSERT_GE(suspected.time, 0) << "never suspected";
  EXPECT_GE(suspected.time - crash, kSuspectAfter - kHeartbeat);
  EXPECT_LE(suspected.time - crash, kSuspectAfter + kHeartbeat + kSlack);
  EXPECT_LT(suspected.time, dead[0].time);
  // No other host is suspected or declared dead.
  EXPECT_EQ(events_of(*r, "worker_dead").size(), 1u);
  EXPECT_EQ(events_of(*r, "worker_suspected").size(), 1u);

  // Round robin kept sending it work until it was suspected: that work moved.
  const int moved = tasks_moved(dead[0]);
  EXPECT_GE(moved, 1) << dead[0].detail;
  EXPECT_GE(r->summary.tasks_retried, static_cast<std::uint64_t>(std::max(moved, 1)));
  // Every moved task has finished: work_recovered, and the recovery time is measured from
  // the crash, so it is at least the detection latency.
  const EventRecord recovered = first_event(*r, "work_recovered", "w-1", crash);
  ASSERT_GE(recovered.time, 0) << "no work_recovered for w-1";
  EXPECT_GE(recovered.time, dead[0].time);
  EXPECT_NEAR(r->summary.recovery_time_mean, recovered.time - crash, 1e-9);
  EXPECT_GT(r->summary.recovery_time_mean, r->summary.detection_latency_mean);

  EXPECT_TRUE(all_finished_once(*r, 400));

  // Down, it does nothing; back up, a fresh incarnation registers at once and works.
  const std::uint32_t h = host_index(*r, "w-1");
  int after = 0;
  for (const TaskRecord& t : r->tasks) {
    if (t.worker != h) continue;
    EXPECT_FALSE(t.start > crash && t.start < recover) << "task " << t.id << " started on w-1 at " << t.start;
    EXPECT_FALSE(t.start < crash && t.end > crash) << "task " << t.id << " ran across the crash on w-1";
    if (t.start >= recover) ++after;
  }
  EXPECT_GE(after, 20) << "w-1 does (almost) no work after its recovery";
  const EventRecord registered = first_event(*r, "worker_registered", "w-1", crash);
  EXPECT_GE(registered.time, recover);
  EXPECT_LE(registered.time, recover + kSlack);
  EXPECT_GT(r->summary.wasted_work, 0) << "the attempt that the crash killed was running";
}

TEST(FaultCrash, APermanentCrashLeavesTheOthersToFinishEverything) {
  Options o;
  o.faults = "  - {kind: crash, host: w-2, at: 20}\n";
  auto r = run(o);
  ASSERT_TRUE(r.ok()) << r.error();
  SCOPED_TRACE(events_text(*r));
  EXPECT_TRUE(all_finished_once(*r, 400));
  const std::uint32_t h = host_index(*r, "w-2");
  for (const TaskRecord& t : r->tasks) {
    if (t.worker == h) {
      EXPECT_LT(t.end, 20) << "task " << t.id;
    }
  }
  EXPECT_EQ(events_of(*r, "worker_dead", "w-2").size(), 1u);
  EXPECT_TRUE(events_of(*r, "worker_registered", "w-2").empty());
  EXPECT_GE(r->summary.detection_latency_mean, kDeadAfter - kHeartbeat);
  EXPECT_LE(r->summary.detection_latency_mean, kDeadAfter + kHeartbeat + kSlack);
}

TEST(FaultSlowdown, TasksInTheWindowTakeFactorTimesLongerAndNothingIsSuspected) {
  Options o;
  o.rate = 0.8;  // the slowed host: 0.2 tasks/s of 4 s tasks, 80 % busy
  o.tasks = 240;
  o.faults = "  - {kind: slowdown, host: w-2, at: 50, factor: 4, duration: 150}\n";
  auto r = run(o);
  ASSERT_TRUE(r.ok()) << r.error();
  SCOPED_TRACE(events_text(*r));
  EXPECT_TRUE(all_finished_once(*r, 240));
  const std::uint32_t slow = host_index(*r, "w-2");
  double in_sum = 0, other_sum = 0, after_sum = 0;
  int in_n = 0, other_n = 0, after_n = 0;
  for (const TaskRecord& t : r->tasks) {
    const double service = t.end - t.start;
    if (t.worker != slow) {
      other_sum += service;
      ++other_n;
    } else if (t.start >= 50 && t.end <= 200) {
      in_sum += service;
      ++in_n;
    } else if (t.start >= 200) {
      after_sum += service;
      ++after_n;
    }
  }
  ASSERT_GE(in_n, 15);
  ASSERT_GE(other_n, 100);
  ASSERT_GE(after_n, 3);
  const double ratio = (in_sum / in_n) / (other_sum / other_n);
  EXPECT_GT(ratio, 3.5);
  EXPECT_LT(ratio, 4.5);
  // slowdown_end restores the speed.
  EXPECT_NEAR(after_sum / after_n, other_sum / other_n, 0.05);
  EXPECT_EQ(events_of(*r, "slowdown_start", "w-2").size(), 1u);
  EXPECT_EQ(events_of(*r, "slowdown_end", "w-2").size(), 1u);
  EXPECT_TRUE(events_of(*r, "worker_suspected").empty());
  EXPECT_TRUE(events_of(*r, "worker_dead").empty());
  EXPECT_EQ(r->summary.tasks_retried, 0u);
  EXPECT_EQ(r->summary.detection_latency_mean, 0);
  EXPECT_EQ(r->summary.faults_injected, 1u);
}

TEST(FaultLink, ACutLongerThanDeadAfterIsDetectedAndTheHostRegistersWhenItReturns) {
  Options o;
  o.faults = "  - {kind: link, host: w-1, at: 30, duration: 15, cut: true}\n";
  auto r = run(o);
  ASSERT_TRUE(r.ok()) << r.error();
  SCOPED_TRACE(events_text(*r));
  const double cut = 30, back = 45;
  EXPECT_EQ(events_of(*r, "link_cut", "w-1").size(), 1u);
  EXPECT_EQ(events_of(*r, "link_restored", "w-1").size(), 1u);
  EXPECT_EQ(r->summary.faults_injected, 1u);
  const auto dead = events_of(*r, "worker_dead", "w-1");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_GE(dead[0].time - cut, kDeadAfter - kHeartbeat);
  EXPECT_LE(dead[0].time - cut, kDeadAfter + kHeartbeat + kSlack);
  EXPECT_GE(tasks_moved(dead[0]), 1) << dead[0].detail;
  EXPECT_NEAR(r->summary.detection_latency_mean, dead[0].time - cut, 1e-9);
  // Its next heartbeat after the link is back makes it register anew.
  const EventRecord registered = first_event(*r, "worker_registered", "w-1", cut);
  ASSERT_GE(registered.time, 0) << "w-1 never registered again";
  EXPECT_GE(registered.time, back);
  EXPECT_LE(registered.time, back + kHeartbeat + kSlack);
  EXPECT_EQ(events_of(*r, "worker_dead").size(), 1u);
  EXPECT_TRUE(all_finished_once(*r, 400));
  EXPECT_GE(r->summary.tasks_retried, 1u);
  // It works again once registered.
  const std::uint32_t h = host_index(*r, "w-1");
  int after = 0;
  for (const TaskRecord& t : r->tasks) after += t.worker == h && t.start > registered.time ? 1 : 0;
  EXPECT_GE(after, 20);
}

TEST(FaultLink, ADegradedLinkSlowsResponsesButKillsNothing) {
  Options base;
  base.rate = 2.0;
  base.tasks = 300;
  Options degraded = base;
  // w-1's link latency x 100 (0.1 ms -> 10 ms, about 0.13 s per message with SimGrid's
  // TCP latency factor) for 100 s.
  degraded.faults = "  - {kind: link, host: w-1, at: 20, duration: 100, factor: 100}\n";
  auto a = run(base);
  auto b = run(degraded);
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_TRUE(b.ok()) << b.error();
  SCOPED_TRACE(events_text(*b));
  EXPECT_TRUE(all_finished_once(*b, 300));
  EXPECT_TRUE(events_of(*b, "worker_suspected").empty());
  EXPECT_TRUE(events_of(*b, "worker_dead").empty());
  EXPECT_EQ(b->summary.tasks_retried, 0u);
  EXPECT_EQ(events_of(*b, "link_degraded", "w-1").size(), 1u);
  EXPECT_EQ(events_of(*b, "link_restored", "w-1").size(), 1u);
  EXPECT_EQ(b->summary.faults_injected, 1u);
  EXPECT_GE(b->summary.response_mean, a->summary.response_mean);
  // Round robin sends the same tasks to w-1 in both runs; those submitted inside the
  // window pay two slow messages (dispatch, completion): about 2 x 0.13 s each.
  const std::uint32_t h = host_index(*b, "w-1");
  ASSERT_EQ(a->tasks.size(), b->tasks.size());
  double extra = 0;
  int n = 0;
  for (std::size_t i = 0; i < b->tasks.size(); ++i) {
    const TaskRecord& x = a->tasks[i];
    const TaskRecord& y = b->tasks[i];
    if (y.worker != h || y.submit < 21 || y.end > 119) continue;
    ASSERT_EQ(x.worker, y.worker) << "task " << y.id << " went elsewhere";
    extra += (y.end - y.submit) - (x.end - x.submit);
    ++n;
  }
  ASSERT_GE(n, 20);
  EXPECT_GT(extra / n, 0.2);
  EXPECT_LT(extra / n, 0.4);
}

TEST(FaultPause, APauseLongerThanDeadAfterMovesItsTasksAndTheHostRegistersAfterwards) {
  Options o;
  o.faults = "  - {kind: pause, host: w-1, at: 30, duration: 15}\n";
  auto r = run(o);
  ASSERT_TRUE(r.ok()) << r.error();
  SCOPED_TRACE(events_text(*r));
  const double pause = 30, resume = 45;
  EXPECT_EQ(events_of(*r, "pause_start", "w-1").size(), 1u);
  EXPECT_EQ(events_of(*r, "pause_end", "w-1").size(), 1u);
  const auto dead = events_of(*r, "worker_dead", "w-1");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_GE(dead[0].time - pause, kDeadAfter - kHeartbeat);
  EXPECT_LE(dead[0].time - pause, kDeadAfter + kHeartbeat + kSlack);
  EXPECT_GE(tasks_moved(dead[0]), 1) << dead[0].detail;
  EXPECT_GE(r->summary.tasks_retried, 1u);
  EXPECT_NEAR(r->summary.detection_latency_mean, dead[0].time - pause, 1e-9);
  const EventRecord registered = first_event(*r, "worker_registered", "w-1", pause);
  ASSERT_GE(registered.time, 0) << "w-1 never registered again";
  EXPECT_GE(registered.time, resume);
  EXPECT_LE(registered.time, resume + kHeartbeat + kSlack);
  EXPECT_TRUE(all_finished_once(*r, 400));
  const std::uint32_t h = host_index(*r, "w-1");
  int after = 0;
  for (const TaskRecord& t : r->tasks) {
    if (t.worker != h) continue;
    EXPECT_FALSE(t.start > pause && t.start < resume) << "task " << t.id << " started on paused w-1 at " << t.start;
    after += t.start > registered.time ? 1 : 0;
  }
  EXPECT_GE(after, 20);
}

TEST(FaultPause, PausesShorterThanSuspectAfterGoUnnoticed) {
  // A paused host skips the heartbeats that fall due during the pause, so the silence the
  // core sees is the pause plus up to one interval: pauses under suspect_after - 2 x
  // heartbeat_interval (1 s here) skip at most one heartbeat, whatever their phase.
  Options o;
  o.faults =
      "  - {kind: pause, host: w-1, at: 30, duration: 0.9}\n"
      "  - {kind: pause, host: w-2, at: 30.5, duration: 0.99}\n"
      "  - {kind: pause, host: w-1, at: 60.7, duration: 0.95}\n"
      "  - {kind: pause, host: w-3, at: 61.01, duration: 0.98}\n";
  auto r = run(o);
  ASSERT_TRUE(r.ok()) << r.error();
  SCOPED_TRACE(events_text(*r));
  EXPECT_EQ(events_of(*r, "pause_start").size(), 4u);
  EXPECT_EQ(events_of(*r, "pause_end").size(), 4u);
  EXPECT_EQ(r->summary.faults_injected, 4u);
  EXPECT_TRUE(events_of(*r, "worker_suspected").empty());
  EXPECT_TRUE(events_of(*r, "worker_dead").empty());
  EXPECT_EQ(r->summary.tasks_retried, 0u);
  EXPECT_EQ(r->summary.detection_latency_mean, 0);
  EXPECT_TRUE(all_finished_once(*r, 400));
  // The paused host's running task is held up by the pause: its service time grows.
  const std::uint32_t h = host_index(*r, "w-2");
  bool held = false;
  for (const TaskRecord& t : r->tasks) {
    if (t.worker == h && t.start < 30.5 && t.end > 30.5) held = held || t.end - t.start > 1.9;
  }
  EXPECT_TRUE(held) << "no task of w-2 took 1 s + the 0.99 s pause";
}

TEST(FaultPause, APauseBetweenSuspectAfterAndDeadAfterIsSuspectedButNotDeclaredDead) {
  // A 4 s pause: at least 4 s of silence (suspected: no new tasks), at most 5 s (< 6 s).
  Options o;
  o.faults = "  - {kind: pause, host: w-1, at: 30.3, duration: 4}\n";
  auto r = run(o);
  ASSERT_TRUE(r.ok()) << r.error();
  SCOPED_TRACE(events_text(*r));
  const auto suspected = events_of(*r, "worker_suspected", "w-1");
  ASSERT_EQ(suspected.size(), 1u);
  EXPECT_GE(suspected[0].time, 30.3 + kSuspectAfter - kHeartbeat);
  EXPECT_LE(suspected[0].time, 34.3);
  const EventRecord alive = first_event(*r, "worker_alive", "w-1", suspected[0].time);
  ASSERT_GE(alive.time, 0) << "w-1 was never heard from again";
  EXPECT_GE(alive.time, 34.3);
  EXPECT_LE(alive.time, 34.3 + kHeartbeat + kSlack);
  EXPECT_TRUE(events_of(*r, "worker_dead").empty());
  EXPECT_EQ(r->summary.tasks_retried, 0u);
  EXPECT_TRUE(all_finished_once(*r, 400));
  // Suspected, it gets no new tasks: none submitted while it was suspected ran there.
  const std::uint32_t h = host_index(*r, "w-1");
  int placed_while_suspected = 0, placed_after = 0;
  for (const TaskRecord& t : r->tasks) {
    if (t.worker != h) continue;
    placed_while_suspected += t.submit > suspected[0].time && t.submit < alive.time ? 1 : 0;
    placed_after += t.submit > alive.time ? 1 : 0;
  }
  EXPECT_EQ(placed_while_suspected, 0);
  EXPECT_GE(placed_after, 20) << "heard again, w-1 gets tasks again";
}

TEST(FaultPause, TwoLongPausesOfOneHostAverageTheirDetectionLatencies) {
  // detection_latency_mean is the mean over detections: two pauses of w-1, each detected
  // within dead_after + one interval, must not add up.
  Options o;
  o.faults =
      "  - {kind: pause, host: w-1, at: 30, duration: 12}\n"
      "  - {kind: pause, host: w-1, at: 80, duration: 12}\n";
  auto r = run(o);
  ASSERT_TRUE(r.ok()) << r.error();
  SCOPED_TRACE(events_text(*r));
  const auto dead = events_of(*r, "worker_dead", "w-1");
  ASSERT_EQ(dead.size(), 2u);
  const double l1 = dead[0].time - 30, l2 = dead[1].time - 80;
  for (double l : {l1, l2}) {
    EXPECT_GE(l, kDeadAfter - kHeartbeat);
    EXPECT_LE(l, kDeadAfter + kHeartbeat + kSlack);
  }
  EXPECT_NEAR(r->summary.detection_latency_mean, (l1 + l2) / 2, 1e-9);
  EXPECT_TRUE(all_finished_once(*r, 400));
}

TEST(FaultLeaderKill, AStandbyLeadsAfterTheElectionAndNoTaskIsLostOrDoubled) {
  Options o;
  o.recovery = "{heartbeat_interval: 1, suspect_after: 3, dead_after: 6, election_delay: 2, reconcile_grace: 2}";
  o.faults = "  - {kind: leader_kill, at: 50}\n";
  auto r = run(o);
  ASSERT_TRUE(r.ok()) << r.error();
  SCOPED_TRACE(events_text(*r));
  const double kill = 50, elected_at = 52;
  const auto kills = events_of(*r, "leader_kill");
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_DOUBLE_EQ(kills[0].time, kill);
  const auto elected = events_of(*r, "leader_elected");
  ASSERT_EQ(elected.size(), 1u);
  EXPECT_NEAR(elected[0].time, elected_at, 1e-9);
  // Every host registers with the new leader, within a heartbeat.
  for (int h = 0; h < 4; ++h) {
    const std::string name = "w-" + std::to_string(h);
    const EventRecord reg = first_event(*r, "worker_registered", name, kill);
    EXPECT_GE(reg.time, elected_at) << name;
    EXPECT_LE(reg.time, elected_at + kHeartbeat + kSlack) << name;
  }
  EXPECT_TRUE(all_finished_once(*r, 400));
  int during = 0, after = 0;
  for (const TaskRecord& t : r->tasks) {
    // Clients wait out the election; nobody records a completion while there is no leader.
    EXPECT_FALSE(t.submit > kill && t.submit < elected_at) << "task " << t.id << " submitted at " << t.submit;
    EXPECT_FALSE(t.end > kill && t.end < elected_at) << "task " << t.id << " recorded at " << t.end;
    during += t.submit >= elected_at && t.submit < elected_at + 0.05 ? 1 : 0;
    after += t.submit >= elected_at ? 1 : 0;
  }
  // ~2.4 tasks/s arrive during the 2 s election: they are all submitted right after it.
  EXPECT_GE(during, 1);
  EXPECT_GT(after, 250);
  // Nobody is declared dead: the workers re-register with the new leader.
  EXPECT_TRUE(events_of(*r, "worker_dead").empty());
  EXPECT_EQ(r->summary.faults_injected, 1u);
}

TEST(FaultLeaderKill, AKillAfterTheLastArrivalStillElectsAStandbyThatFinishesTheWork) {
  // 4 s tasks at 90 % load: when the last task has been submitted, work is still running.
  Options o;
  o.rate = 0.9;
  o.tasks = 100;
  o.size = "{dist: constant, value: 4e9}";
  auto base = run(o);
  ASSERT_TRUE(base.ok()) << base.error();
  double last_submit = 0, last_end = 0;
  for (const TaskRecord& t : base->tasks) {
    last_submit = std::max(last_submit, t.submit);
    last_end = std::max(last_end, t.end);
  }
  ASSERT_GE(last_end - last_submit, 4);
  const double kill = std::floor(last_submit) + 1;  // the last task is running
  o.faults = "  - {kind: leader_kill, at: " + std::to_string(kill) + "}\n";
  auto r = run(o);
  ASSERT_TRUE(r.ok()) << r.error();
  SCOPED_TRACE(events_text(*r));
  const auto elected = events_of(*r, "leader_elected");
  ASSERT_EQ(elected.size(), 1u) << "no standby took over after the leader_kill at " << kill;
  EXPECT_NEAR(elected[0].time, kill + 2, 1e-9);
  EXPECT_TRUE(all_finished_once(*r, 100));
}

TEST(FaultRandom, MtbfFailuresAreInjectedDeterministically) {
  Options o;
  o.rate = 2.0;
  o.tasks = 300;
  o.size = "{dist: exponential, mean: 1e9}";
  o.faults = "  - {kind: random, mtbf: 40, mttr: 8, until: 140}\n";
  auto a = run(o);
  auto b = run(o);
  Options other = o;
  other.seed = 12;
  auto c = run(other);
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_TRUE(b.ok()) << b.error();
  ASSERT_TRUE(c.ok()) << c.error();
  SCOPED_TRACE(events_text(*a));
  EXPECT_GE(a->summary.faults_injected, 2u);
  const auto crashes = events_of(*a, "crash");
  EXPECT_GE(crashes.size(), 2u);
  for (const EventRecord& e : crashes) EXPECT_LE(e.time, 140);
  // Each crash is paired with a recovery (random failures always recover).
  EXPECT_EQ(events_of(*a, "recover").size(), crashes.size());
  EXPECT_EQ(a->summary.faults_injected, crashes.size());
  EXPECT_TRUE(all_finished_once(*a, 300));
  EXPECT_GT(a->summary.detection_latency_mean, 0);
  // The same seed: the same tasks, events and summary, field by field.
  EXPECT_TRUE(same_tasks(*a, *b));
  EXPECT_TRUE(same_events(*a, *b));
  EXPECT_TRUE(same_summary(a->summary, b->summary));
  // Another seed: other failures.
  std::vector<std::pair<double, std::string>> ca, cc;
  for (const EventRecord& e : events_of(*a, "crash")) ca.emplace_back(e.time, e.host);
  for (const EventRecord& e : events_of(*c, "crash")) cc.emplace_back(e.time, e.host);
  EXPECT_NE(ca, cc);
  EXPECT_FALSE(same_events(*a, *c));
}

// ---------------------------------------------------------------------------------------
// Property: random small scenarios with random fault timelines never lose or duplicate a
// task, and are deterministic.

struct RandomCase {
  std::string yaml;
  std::uint64_t tasks = 0;
  bool all_crashed_for_good = false;  // never: host 0 is never crashed
};

std::string fixed(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", x);
  return buf;
}

RandomCase random_case(std::uint64_t seed) {
  Rng rng(seed, /*stream=*/0xFA17);
  const int hosts = 3 + static_cast<int>(rng.uniform_int(4));  // 3..6
  const int slots = 1 + static_cast<int>(rng.uniform_int(2));
  const std::vector<std::string> policies = classic_policies();
  const std::string policy = policies[rng.uniform_int(policies.size())];
  const int queue_cap = rng.uniform_int(2) == 0 ? -1 : 0;
  const double load = rng.uniform(0.5, 0.9);
  const double rate = load * hosts * slots;  // 1 Gflop mean tasks on 1 Gflop/s cores
  const std::uint64_t tasks = 100 + rng.uniform_int(201);
  const double span = static_cast<double>(tasks) / rate;

  std::string faults;
  std::set<std::uint64_t> crashed;
  bool leader_killed = false;
  const int n = 1 + static_cast<int>(rng.uniform_int(4));
  for (int i = 0; i < n; ++i) {
    int kind = static_cast<int>(rng.uniform_int(6));  // crash, slowdown, link, pause, leader_kill, random
    const std::uint64_t host = rng.uniform_int(static_cast<std::uint64_t>(hosts));
    const std::string at = fixed(rng.uniform(0, span));
    const std::string target = "host: w-" + std::to_string(host);
    if (kind == 0 && (host == 0 || crashed.count(host))) kind = 1;
    if (kind == 4 && leader_killed) kind = 3;
    switch (kind) {
      case 0:
        crashed.insert(host);
        faults += "  - {kind: crash, " + target + ", at: " + at +
                  (rng.uniform_int(2) ? ", recover_after: " + fixed(rng.uniform(1, 30)) : std::string()) + "}\n";
        break;
      case 1:
        faults += "  - {kind: slowdown, " + target + ", at: " + at + ", factor: " + fixed(rng.uniform(1.5, 6)) +
                  ", duration: " + fixed(rng.uniform(1, 40)) + "}\n";
        break;
      case 2:
        faults += "  - {kind: link, " + target + ", at: " + at + ", duration: " + fixed(rng.uniform(1, 20)) +
                  (rng.uniform_int(2) ? ", cut: true" : ", factor: " + fixed(rng.uniform(2, 100))) + "}\n";
        break;
      case 3:
        faults += "  - {kind: pause, " + target + ", at: " + at + ", duration: " + fixed(rng.uniform(0.5, 15)) + "}\n";
        break;
      case 4:
        leader_killed = true;
        faults += "  - {kind: leader_kill, at: " + at + "}\n";
        break;
      default:
        // Random failures of one host (never host 0): they always recover.
        faults += "  - {kind: random, host: w-" + std::to_string(1 + rng.uniform_int(hosts - 1)) +
                  ", mtbf: " + fixed(rng.uniform(10, 60)) + ", mttr: " + fixed(rng.uniform(1, 10)) +
                  ", until: " + fixed(span) + "}\n";
        break;
    }
  }
  RandomCase c;
  c.tasks = tasks;
  c.yaml = "seed: " + std::to_string(seed) + "\ncluster:\n  hosts: [{count: " + std::to_string(hosts) +
           ", speed: 1e9, slots: " + std::to_string(slots) + "}]\n  queue_cap: " + std::to_string(queue_cap) +
           "\nworkload: {type: poisson, rate: " + fixed(rate) + ", size: {dist: exponential, mean: 1e9}, tasks: " +
           std::to_string(tasks) + "}\npolicy: " + policy +
           "\nrecovery: {max_attempts: 3}\nfaults:\n" + faults;
  return c;
}

// Runs simulations two at a time (each is its own forked child).
std::vector<Expected<RunRecords>> simulate_all(const std::vector<Scenario>& scenarios) {
  return sim::simulate_many(scenarios, 2);
}

// The invariants of one run (ASSERTs end this check, not the whole property test).
void check_random_run(const RandomCase& c, const RunRecords& r) {
  const Summary& s = r.summary;
  EXPECT_EQ(s.tasks_submitted, c.tasks);
  EXPECT_EQ(s.tasks_completed + s.tasks_failed, c.tasks)
      << "completed " << s.tasks_completed << " failed " << s.tasks_failed << " lost " << s.tasks_lost
      << "; events:\n" << events_text(r);
  if (!c.all_crashed_for_good) {
    EXPECT_EQ(s.tasks_lost, 0u);
  }
  ASSERT_EQ(r.tasks.size(), c.tasks);
  std::vector<int> seen(c.tasks, 0);
  std::uint64_t per_host = 0;
  for (const WorkerRecord& w : r.workers) per_host += w.tasks;
  EXPECT_EQ(per_host, s.tasks_completed);
  for (const TaskRecord& t : r.tasks) {
    ASSERT_LT(t.id, c.tasks);
    ASSERT_EQ(++seen[t.id], 1) << "task " << t.id << " recorded twice";
    ASSERT_TRUE(t.state == TaskState::kFinished || t.state == TaskState::kFailed)
        << "task " << t.id << " ends " << to_string(t.state);
    if (t.state == TaskState::kFinished) {
      ASSERT_GE(t.attempts, 1u) << "task " << t.id;
      ASSERT_LE(t.submit, t.start) << "task " << t.id;
      ASSERT_LE(t.start, t.end) << "task " << t.id;
      ASSERT_LT(t.worker, r.workers.size()) << "task " << t.id;
    }
  }
}

TEST(FaultProperty, RandomTimelinesNeverLoseOrDuplicateTasksAndAreDeterministic) {
  // Seeds 1..200, the first 20 twice. To replay one seed: FULCRUM_FAULT_SEED=N.
  std::uint64_t first = 1, seeds = 200, twice = 20;
  if (const char* one = std::getenv("FULCRUM_FAULT_SEED")) {
    first = std::stoull(one);
    seeds = 1;
    twice = 1;
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<RandomCase> cases;
  std::vector<Scenario> scenarios;
  for (std::uint64_t seed = first; seed < first + seeds; ++seed) {
    cases.push_back(random_case(seed));
    if (seeds == 1) std::cout << cases.back().yaml;  // a replay shows the scenario it runs
    auto s = load_scenario_text(cases.back().yaml, "seed-" + std::to_string(seed) + ".yaml");
    ASSERT_TRUE(s.ok()) << s.error() << "\n" << cases.back().yaml;
    scenarios.push_back(*s);
  }
  for (std::uint64_t i = 0; i < twice; ++i) scenarios.push_back(scenarios[i]);
  auto results = simulate_all(scenarios);

  std::uint64_t with_retries = 0, injected = 0, with_faults = 0;
  std::vector<std::uint64_t> failed_seeds;
  for (std::uint64_t i = 0; i < seeds; ++i) {
    const RandomCase& c = cases[i];
    auto& r = results[i];
    SCOPED_TRACE("seed " + std::to_string(first + i) + ":\n" + c.yaml);
    const int failures_before = ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
    if (!r.ok()) {
      ADD_FAILURE() << r.error();
    } else {
      check_random_run(c, *r);
      with_retries += r->summary.tasks_retried > 0 ? 1 : 0;
      injected += r->summary.faults_injected;
      with_faults += r->summary.faults_injected > 0 ? 1 : 0;
    }
    if (::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count() != failures_before) {
      failed_seeds.push_back(first + i);
    }
  }
  for (std::uint64_t i = 0; i < twice; ++i) {
    SCOPED_TRACE("seed " + std::to_string(first + i) + " twice");
    auto& a = results[i];
    auto& b = results[seeds + i];
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_TRUE(same_tasks(*a, *b));
    EXPECT_TRUE(same_events(*a, *b));
    EXPECT_TRUE(same_summary(a->summary, b->summary));
  }
  std::string failed;
  for (std::uint64_t seed : failed_seeds) failed += " " + std::to_string(seed);
  EXPECT_TRUE(failed_seeds.empty()) << "seeds that broke an invariant:" << failed;
  // The generator does exercise faults and recovery (a fault may come after the last task,
  // or a random entry may draw no failure before `until`, so not every run has one).
  EXPECT_GE(with_faults, seeds * 9 / 10);
  EXPECT_GE(with_retries, seeds / 4);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ property ] %zu runs in %.1f s, %llu faults injected, %llu of %llu runs retried tasks\n",
              scenarios.size(), seconds, static_cast<unsigned long long>(injected),
              static_cast<unsigned long long>(with_retries), static_cast<unsigned long long>(seeds));
}

// ---------------------------------------------------------------------------------------
// The CLI.

std::vector<std::string> split(const std::string& line, bool on_two_spaces) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size()) break;
    std::size_t j = i;
    for (; j < line.size(); ++j) {
      if (line[j] == ' ' && (!on_two_spaces || j + 1 >= line.size() || line[j + 1] == ' ')) break;
    }
    out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

TEST(FaultCompare, TheTableShowsRecoveryFiguresPerPolicy) {
  const auto dir = std::filesystem::temp_directory_path() / ("fulcrum-faults-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  Options o;
  o.tasks = 200;
  o.faults = "  - {kind: crash, host: w-1, at: 20, recover_after: 20}\n  - {kind: pause, host: w-3, at: 50, duration: 10}\n";
  const auto file = dir / "faulty.yaml";
  std::ofstream(file) << yaml_of(o);
  const std::string command = std::string(FULCRUM_BINARY) + " compare " + file.string() +
                              " --policies jsq,random --seeds 2 --out " + (dir / "out").string() + " 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) output.append(buf, n);
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command << "\n" << output;
  SCOPED_TRACE(output);

  std::istringstream lines(output);
  std::string line;
  std::vector<std::string> header;
  std::map<std::string, std::vector<std::string>> rows;
  int row_count = 0;
  while (std::getline(lines, line)) {
    if (header.empty()) {
      if (line.rfind("policy", 0) == 0) header = split(line, false);
      continue;
    }
    if (line.empty()) continue;
    const auto cells = split(line, true);
    ++row_count;
    rows[cells.at(0)] = cells;
  }
  ASSERT_FALSE(header.empty()) << "no table header";
  EXPECT_EQ(row_count, 2) << "one row per policy";
  ASSERT_EQ(rows.count("jsq"), 1u);
  ASSERT_EQ(rows.count("random"), 1u);
  for (const char* column : {"detection_latency_mean", "recovery_time_mean", "tasks_retried", "tasks_lost"}) {
    const auto it = std::find(header.begin(), header.end(), column);
    ASSERT_NE(it, header.end()) << "the table has no column " << column;
    if (std::string(column) != "detection_latency_mean") continue;
    const std::size_t col = static_cast<std::size_t>(it - header.begin());
    for (const auto& [policy, cells] : rows) {
      ASSERT_EQ(cells.size(), header.size()) << policy;
      // Two detections per run (the crash, the pause), each within dead_after + one interval.
      const double value = std::stod(cells[col]);
      EXPECT_GE(value, kDeadAfter - kHeartbeat) << policy;
      EXPECT_LE(value, kDeadAfter + kHeartbeat + kSlack) << policy;
    }
  }
  // comparison.csv has the same figures, per policy, over both seeds.
  std::ifstream csv(dir / "out" / "comparison.csv");
  ASSERT_TRUE(csv.good());
  int found = 0;
  while (std::getline(csv, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    if (f.size() != 5) continue;
    if (f[1] == "detection_latency_mean") {
      ++found;
      EXPECT_GE(std::stod(f[2]), kDeadAfter - kHeartbeat) << line;
      EXPECT_LE(std::stod(f[2]), kDeadAfter + kHeartbeat + kSlack) << line;
      EXPECT_EQ(f[4], "2") << line;
    }
    if (f[1] == "tasks_lost") {
      EXPECT_EQ(std::stod(f[2]), 0) << line;
    }
  }
  EXPECT_EQ(found, 2);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fulcrum
