// Rigid jobs (gangs) and backfilling over many generated scenarios (docs/backfilling.md):
// for each seed a random cluster (host groups of several cores, sometimes memory, in one
// or two zones), a synthetic workload whose arrivals are gangs (`workload.width`, a
// constant 2-6 or a uniform distribution), sometimes task classes with cores and memory
// requests, a random discipline (fifo, fcfs, easy, conservative; order=sjf and
// estimates=exact sometimes), a random placement policy, on most seeds faults (a group's
// crash with recover_after, a zone outage by crash, random per-host failures) and on some
// a task timeout with few attempts (so that gangs also fail whole). From each run's
// records:
// 1. never partial: the last attempts of a gang's members were dispatched at one instant
//    and, when they all finished, started at one instant (within 1e-6 s);
// 2. never over-committed: on no host, at no instant, do the finished tasks' last attempts
//    hold more cores or memory than it has (sim/tests/occupancy.h);
// 3. nothing lost: every task ended finished, failed or cancelled, the summary's counts
//    add up, and a gang that did not finish failed whole: its members that had not
//    finished all failed (or were cancelled) at one instant, and the job failed;
// 4. a member's failure or its host's death requeues the whole gang: every gang's members
//    ran the same number of attempts, and most runs with faults ran some gang again.
// A member that finished before another failed keeps its result and is not run again
// (docs/backfilling.md): a gang's last run is its members dispatched last, and those
// dispatched earlier must have finished before it. (1), (3) and (4) are about that run.
// A run that fails its checks is reported with its problems (the first few, each gang's
// members with their records) and its scenario; `GANG_PROPERTY_DUMP=dir` writes every
// scenario to dir/seed-N.yaml, for `fulcrum run`.
//
// The network is homogeneous: every host has a link of the same latency and bandwidth,
// and every zone's link is the same, so the scheduler's dispatches of one instant reach
// every host at the same instant. With zone links of different latencies (1e-6 and 1e-4
// s) the members of most gangs start that much apart: the core dispatches them together,
// the network delivers them apart, which is not what (1) is about.
//
// Earlier attempts are not in the records (a task record keeps its last attempt only, and
// events.csv names no attempt's start or end), so (2) sees the last attempts; an earlier
// attempt's hold on its host ends with a cancel, which the simulator applies at once.
//
// A watchdog bounds every run: every host crashes for good at kWatchdog seconds, long
// after the work should be over, so that a run whose tasks can never all end (a gang never
// placed again) ends there with those tasks lost, instead of simulating heartbeats for ever.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/random.h"
#include "scenario/load.h"
#include "sim/isolated.h"
#include "sim/tests/occupancy.h"

namespace fulcrum {
namespace {

constexpr int kSeeds = 25;
// Dispatches of one instant over equal links arrive within the network's nanoseconds.
constexpr double kSameInstant = 1e-6;
// Every host goes down for good then (see generate()); every run is over long before.
constexpr int kWatchdog = 3000;

struct Generated {
  std::string yaml;
  std::string discipline;
  std::string policy;
  bool faults = false;
};

std::string pick(Rng& rng, const std::vector<std::string>& from) { return from[rng.uniform_int(from.size())]; }

// A random scenario; its YAML is the failure message when a check fails.
Generated generate(std::uint64_t seed) {
  Rng rng(seed, 1717);
  Generated g;
  std::ostringstream y;
  y.precision(17);
  const int zones = 1 + static_cast<int>(rng.uniform_int(2));
  y << "seed: " << seed << "\ncluster:\n";
  y << "  network: {latency: 1e-6, bandwidth: 1e11}\n";
  y << "  zones:\n";
  for (int z = 0; z < zones; ++z) y << "    z" << z << ": {latency: 1e-6, bandwidth: 1e11}\n";
  y << "  hosts:\n";
  const int groups = 2 + static_cast<int>(rng.uniform_int(3));
  const bool memory = rng.uniform01() < 0.5;
  std::vector<std::string> used_zones;
  for (int g = 0; g < groups; ++g) {
    y << "    - {name: g" << g << ", count: " << 1 + rng.uniform_int(3) << ", speed: " << (1 + rng.uniform_int(3))
      << "e9, resources: {cores: " << 2 + rng.uniform_int(11);
    if (memory) y << ", memory: " << 8 + rng.uniform_int(57) << "GiB";
    const std::string zone = "z" + std::to_string(rng.uniform_int(zones));
    if (std::find(used_zones.begin(), used_zones.end(), zone) == used_zones.end()) used_zones.push_back(zone);
    y << "}, zone: " << zone << "}\n";
  }
  y << "workload:\n  rate: " << 1 + rng.uniform_int(5) << "\n  tasks: " << 100 + rng.uniform_int(101) << "\n";
  y << "  size: {dist: exponential, mean: 2e9}\n";
  if (rng.uniform01() < 0.5) {
    // docs/scenario.md allows a plain number (`width: 3`), which the loader refuses ("must
    // be a map"); the constant distribution is the same width.
    y << "  width: {dist: constant, value: " << 2 + rng.uniform_int(5) << "}\n";
  } else {
    y << "  width: {dist: uniform, low: " << 1 + rng.uniform_int(2) << ", high: " << 4 + rng.uniform_int(3) << "}\n";
  }
  if (rng.uniform01() < 0.6) {
    y << "  classes:\n";
    const int classes = 1 + static_cast<int>(rng.uniform_int(3));
    std::vector<int> weights;
    int total = 0;
    for (int c = 0; c < classes; ++c) total += weights.emplace_back(1 + static_cast<int>(rng.uniform_int(4)));
    for (int c = 0; c < classes; ++c) {
      y << "    - {share: " << static_cast<double>(weights[c]) / total
        << ", resources: {cores: " << pick(rng, {"0.5", "1", "1", "2", "3", "4"});
      if (memory && rng.uniform01() < 0.7) {
        if (rng.uniform01() < 0.5) {
          y << ", memory: " << 1 + rng.uniform_int(8) << "GiB";
        } else {
          y << ", memory: {dist: uniform, low: 256MiB, high: " << 1 + rng.uniform_int(12) << "GiB}";
        }
      }
      y << "}";
      if (rng.uniform01() < 0.3) y << ", size: {dist: uniform, low: 1e8, high: " << 1 + rng.uniform_int(8) << "e9}";
      if (rng.uniform01() < 0.15) y << ", spread: host";
      y << "}\n";
    }
  }
  g.discipline = pick(rng, {"fifo", "fcfs", "easy", "conservative"});
  std::string spec = g.discipline;
  if (g.discipline != "fifo") {
    std::vector<std::string> params;
    if (rng.uniform01() < 0.35) params.push_back("order=sjf");
    if (rng.uniform01() < 0.25) params.push_back("estimates=exact");
    for (std::size_t i = 0; i < params.size(); ++i) spec += (i == 0 ? ":" : ",") + params[i];
  }
  g.policy = pick(rng, {"first_fit", "binpack", "jsq", "least_connections"});
  y << "discipline: " << spec << "\npolicy: " << g.policy << "\n";
  if (g.discipline == "fifo") y << "queue: " << pick(rng, {"strict", "skip_ahead"}) << "\n";
  // On one seed in three a task timeout: a member that runs too long fails its attempt
  // (the gang then stops and runs again, or fails whole when attempts run out).
  if (rng.uniform01() < 0.35) {
    y << "recovery: {max_attempts: " << 2 + rng.uniform_int(2) << ", retry_backoff: 0.5, task_timeout: "
      << 3 + rng.uniform_int(4) << "}\n";
  } else {
    y << "recovery: {max_attempts: " << 3 + rng.uniform_int(4) << ", retry_backoff: 0.5}\n";
  }
  // Faults on four seeds out of five: a group's crash, then a zone outage (after the
  // crash is over), or random failures alone.
  y << "faults:\n";
  const double f = rng.uniform01();
  if (f < 0.8) {
    g.faults = true;
    if (f < 0.3) {
      y << "  - {kind: random, group: g" << rng.uniform_int(groups) << ", mtbf: " << 20 + rng.uniform_int(40)
        << ", mttr: " << 2 + rng.uniform_int(8) << ", until: 60}\n";
    } else {
      y << "  - {kind: crash, group: g" << rng.uniform_int(groups) << ", at: " << 3 + rng.uniform_int(20)
        << ", recover_after: " << 2 + rng.uniform_int(14) << "}\n";  // over by 40
      if (f < 0.6) {
        y << "  - {kind: zone_outage, zone: " << pick(rng, used_zones) << ", at: " << 42 + rng.uniform_int(20)
          << ", duration: " << 3 + rng.uniform_int(15) << ", mode: crash}\n";
      }
    }
  }
  // The watchdog: a run whose tasks cannot all end (a gang that is never placed again)
  // would go on for ever, heartbeats and all; every host goes down for good long after
  // the work should be over, the simulator then ends the run, and what did not end is
  // lost, which the checks report.
  for (int g0 = 0; g0 < groups; ++g0) y << "  - {kind: crash, group: g" << g0 << ", at: " << kWatchdog << "}\n";
  g.yaml = y.str();
  return g;
}

// What the checks saw over all the runs, so that the test can say it was not vacuous.
struct Tally {
  int runs = 0, with_faults = 0, faulted_with_requeue = 0;
  std::uint64_t gangs_finished = 0, gangs_failed = 0, gangs_refused = 0, gangs_requeued = 0, gang_tasks = 0;
  std::map<std::string, int> disciplines, policies;
};

// What one run's records break, one line each (see the top of this file).
std::vector<std::string> check_run(const Generated& g, const Scenario& s, const RunRecords& r, Tally& tally) {
  std::vector<std::string> problems;
  const auto problem = [&](const std::string& what) { problems.push_back(what); };
  const auto show = [](const TaskRecord& t) {
    std::ostringstream out;
    out.precision(12);
    out << "task " << t.id << " " << to_string(t.state) << " on " << static_cast<long>(t.worker) << " dispatched "
        << t.dispatched << " start " << t.start << " end " << t.end << " attempts " << t.attempts;
    return out.str();
  };
  // Which hosts registered at an instant (the core dispatches what waits when a host
  // registers, e.g. after its recovery), for the messages.
  const auto registered_at = [&](double time) {
    std::string hosts;
    for (const EventRecord& e : r.events) {
      if (e.kind == "worker_registered" && e.time == time) hosts += (hosts.empty() ? "" : ", ") + e.host;
    }
    return hosts.empty() ? std::string() : " (dispatched as " + hosts + " registered)";
  };
  // The tasks of each job, in id order.
  std::map<JobId, std::vector<const TaskRecord*>> members;
  for (const TaskRecord& t : r.tasks) members[t.job].push_back(&t);
  if (members.size() != r.jobs.size()) problem("tasks name " + std::to_string(members.size()) + " jobs, jobs.csv has " +
                                               std::to_string(r.jobs.size()));

  // (3) Nothing lost, nothing twice.
  const Summary& sum = r.summary;
  if (sum.tasks_lost != 0) problem(std::to_string(sum.tasks_lost) + " tasks lost");
  if (sum.tasks_completed + sum.tasks_failed + sum.tasks_cancelled != sum.tasks_submitted ||
      sum.tasks_submitted != r.tasks.size()) {
    problem("completed " + std::to_string(sum.tasks_completed) + " + failed " + std::to_string(sum.tasks_failed) +
            " + cancelled " + std::to_string(sum.tasks_cancelled) + " != submitted " +
            std::to_string(sum.tasks_submitted) + " (" + std::to_string(r.tasks.size()) + " records)");
  }
  std::uint64_t per_worker = 0;
  for (const WorkerRecord& w : r.workers) per_worker += w.tasks;
  if (per_worker != sum.tasks_completed) problem("workers completed " + std::to_string(per_worker) + " tasks");
  for (const TaskRecord& t : r.tasks) {
    if (!is_terminal(t.state)) problem("not ended: " + show(t) + " (job " + std::to_string(t.job) + ")");
  }

  bool requeued_here = false;
  for (const JobRecord& job : r.jobs) {
    const std::vector<const TaskRecord*>& tasks = members[job.id];
    if (tasks.size() <= 1) {
      if (job.width != 1) problem("job " + std::to_string(job.id) + " of one task has width " + std::to_string(job.width));
      continue;
    }
    // A gang.
    tally.gang_tasks += tasks.size();
    const std::string name = "gang " + std::to_string(job.id) + " (" + std::to_string(tasks.size()) + " tasks)";
    std::string all;
    for (const TaskRecord* t : tasks) all += "\n      " + show(*t);
    if (job.width != tasks.size()) problem(name + ": width " + std::to_string(job.width));
    // Its last run, and the members that finished before it (dispatched earlier).
    double last_dispatch = -1;
    for (const TaskRecord* t : tasks) last_dispatch = std::max(last_dispatch, t->dispatched);
    std::vector<const TaskRecord*> run;
    std::size_t finished_before = 0;
    for (const TaskRecord* t : tasks) {
      if (t->dispatched == last_dispatch) {
        run.push_back(t);
      } else if (t->state == TaskState::kFinished && t->end <= last_dispatch + kSameInstant) {
        ++finished_before;
      } else {
        problem(name + ": dispatched apart, and not finished before its gang ran again:" + all);
      }
    }
    std::size_t finished = finished_before;
    std::set<std::uint32_t> attempts;
    for (const TaskRecord* t : run) {
      attempts.insert(t->attempts);
      if (t->state == TaskState::kFinished) ++finished;
    }

    // (4) One attempt counted for every member: a gang runs, stops and runs again whole.
    if (attempts.size() != 1) problem(name + ": its members ran different numbers of attempts:" + all);
    if (*attempts.rbegin() > 1) {
      ++tally.gangs_requeued;
      requeued_here = true;
    }

    if (*attempts.rbegin() == 0) {
      // Never dispatched: refused at submission (wider than the cluster), or still waiting
      // when the run ended (reported above).
      bool refused = true;
      for (const TaskRecord* t : tasks) {
        refused = refused && (t->state == TaskState::kFailed || t->state == TaskState::kCancelled);
        if (t->start >= 0 || t->state == TaskState::kFinished) problem(name + ": never dispatched, yet " + show(*t));
      }
      if (refused) ++tally.gangs_refused;
      continue;
    }

    // (1) Never partial: the last run's attempts were dispatched in one pass (above)...
    if (finished == tasks.size()) {
      // ... and, when all finished, started at one instant.
      ++tally.gangs_finished;
      std::vector<double> starts;
      for (const TaskRecord* t : run) {
        if (t->start < 0) problem(name + ": finished without a start: " + show(*t));
        bool seen = false;
        for (const double s0 : starts) seen = seen || std::fabs(s0 - t->start) <= kSameInstant;
        if (!seen) starts.push_back(t->start);
      }
      if (starts.size() != 1) {
        problem(name + ": started at " + std::to_string(starts.size()) + " instants" +
                registered_at(tasks.front()->dispatched) + ":" + all);
      }
      if (!job.success) problem(name + ": all finished, yet the job did not succeed");
      continue;
    }

    // (3) A gang that did not finish failed whole: no member finished (a gang runs whole
    // or not at all), every member failed or was cancelled, at one instant, and the job
    // failed.
    ++tally.gangs_failed;
    if (job.success) problem(name + ": did not finish, yet the job succeeded");
    // Members of the last run that finished did so before the others failed, together.
    double failed_at = -1;
    for (const TaskRecord* t : run) {
      if (t->state == TaskState::kFinished) continue;
      if (failed_at < 0) failed_at = t->end;
      if ((t->state != TaskState::kFailed && t->state != TaskState::kCancelled) ||
          std::fabs(t->end - failed_at) > kSameInstant) {
        problem(name + ": did not fail whole at one instant:" + all);
        break;
      }
    }
    for (const TaskRecord* t : run) {
      if (t->state == TaskState::kFinished && t->end > failed_at + kSameInstant) {
        problem(name + ": a member finished after the others failed:" + all);
      }
    }
  }
  if (g.faults && requeued_here) ++tally.faulted_with_requeue;

  // (2) Never over-committed, in cores and memory, from the last attempts' [start, end).
  const std::vector<WorkerSpec> hosts = worker_specs(s.cluster);
  if (hosts.size() != r.workers.size()) {
    problem(std::to_string(r.workers.size()) + " worker records for " + std::to_string(hosts.size()) + " hosts");
    return problems;
  }
  std::vector<Resources> capacity;
  for (const WorkerSpec& w : hosts) capacity.push_back(w.capacity());
  for (const TaskRecord& t : r.tasks) {
    if (t.state == TaskState::kFinished && t.worker >= hosts.size()) problem("finished on no host: " + show(t));
  }
  // A task's end is when its report reached the scheduler: the trip (a few links' latency
  // of 1e-6 s) is taken off.
  const auto spans = testing::occupancies(
      r, [](const TaskRecord& t) { return Resources{t.cores, t.memory, t.gpus, {}}; }, 1e-4);
  if (const std::string over = testing::first_overcommit(spans, capacity); !over.empty()) problem(over);
  return problems;
}

TEST(GangProperty, NeverPartialNeverOvercommittedNothingLostRequeuedWhole) {
  const auto began = std::chrono::steady_clock::now();
  Tally tally;
  std::vector<Generated> generated;
  std::vector<Scenario> scenarios;
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    generated.push_back(generate(seed));
    if (const char* dir = std::getenv("GANG_PROPERTY_DUMP")) {  // the scenarios as files, for fulcrum run
      std::ofstream(std::string(dir) + "/seed-" + std::to_string(seed) + ".yaml") << generated.back().yaml;
    }
    auto loaded = load_scenario_text(generated.back().yaml, std::string(FULCRUM_SOURCE_DIR) + "/examples/generated.yaml");
    ASSERT_TRUE(loaded.ok()) << "seed " << seed << ": " << loaded.error() << "\n" << generated.back().yaml;
    scenarios.push_back(*loaded);
  }
  // Two at a time, each in a child process of its own.
  std::vector<Expected<RunRecords>> results = sim::simulate_many(scenarios, 2);
  ASSERT_EQ(results.size(), scenarios.size());
  int failing = 0;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    const Generated& g = generated[i];
    const std::string which = "seed " + std::to_string(i + 1) + " (" + g.discipline + ", " + g.policy + ")";
    if (!results[i].ok()) {
      ++failing;
      ADD_FAILURE() << which << ": " << results[i].error() << "\n" << g.yaml;
      continue;
    }
    ++tally.runs;
    if (g.faults) ++tally.with_faults;
    ++tally.disciplines[g.discipline];
    ++tally.policies[g.policy];
    const std::vector<std::string> problems = check_run(g, scenarios[i], *results[i], tally);
    if (problems.empty()) continue;
    ++failing;
    std::ostringstream out;
    out << which << ": " << problems.size() << " problems, the first:";
    for (std::size_t k = 0; k < problems.size() && k < 6; ++k) out << "\n  - " << problems[k];
    ADD_FAILURE() << out.str() << "\n" << g.yaml;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::cout << "[ gangs ] " << tally.runs << " runs in " << seconds << " s, " << failing << " failing: "
            << tally.gang_tasks << " gang tasks, " << tally.gangs_finished << " gangs finished, " << tally.gangs_failed
            << " failed, " << tally.gangs_refused << " refused, " << tally.gangs_requeued << " requeued; "
            << tally.faulted_with_requeue << " of " << tally.with_faults << " runs with faults requeued a gang\n";
  if (failing > 0) return;
  // Not vacuous: every discipline and policy ran, gangs finished, and faults requeued
  // gangs whole in three runs with faults out of four at least.
  EXPECT_EQ(tally.runs, kSeeds);
  EXPECT_EQ(tally.disciplines.size(), 4u);
  EXPECT_EQ(tally.policies.size(), 4u);
  EXPECT_GT(tally.gangs_finished, 1000u);
  EXPECT_GT(tally.gangs_requeued, 20u);
  EXPECT_GT(tally.gangs_failed, 0u);
  EXPECT_GE(tally.faulted_with_requeue * 4, tally.with_faults * 3);
}

}  // namespace
}  // namespace fulcrum
