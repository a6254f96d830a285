// The autoscaler: its decisions on given loads, and the scheduler growing and shrinking a
// cluster under a load step through a tiny in-test driver (no simulator).
#include "core/autoscaler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <map>
#include <functional>

#include "core/random.h"
#include "core/scheduler.h"
#include "policies/registry.h"

namespace fulcrum {
namespace {

AutoscaleConfig config(double target = 0.6) {
  AutoscaleConfig c;
  c.enabled = true;
  c.target = target;
  c.min_workers = 2;
  c.max_workers = 20;
  c.period = 5;
  c.window = 5;  // one period: each evaluation sees only its own
  c.scale_out_cooldown = 10;
  c.scale_in_cooldown = 30;
  c.tolerance = 0.1;
  c.scale_in_after = 3;
  return c;
}

// Holds `busy` of `capacity` slots busy (tasks = busy) from `from` and evaluates at `to`.
AutoscaleDecision hold(Autoscaler& a, double from, double to, double busy, double capacity, std::uint32_t in_service,
                       std::uint32_t booting = 0) {
  a.update(from, busy, busy, capacity);
  return a.evaluate(to, in_service, booting);
}

TEST(Autoscaler, TracksTheTarget) {
  Autoscaler a(config(0.6));
  a.update(0, 0, 0, 10);
  EXPECT_EQ(a.next_evaluation(), 5);
  const AutoscaleDecision d = hold(a, 0, 5, 9, 10, 10);  // 90 % busy, target 60 %
  EXPECT_DOUBLE_EQ(d.metric, 0.9);
  EXPECT_EQ(d.desired, 15u);  // ceil(10 x 0.9 / 0.6)
  EXPECT_EQ(d.delta, 5);
  EXPECT_EQ(a.next_evaluation(), 10);
}

TEST(Autoscaler, TimeAveragesTheLoadOverThePeriod) {
  Autoscaler a(config(0.5));
  a.update(0, 10, 10, 10);  // full for 1 s...
  a.update(1, 0, 0, 10);    // ...then idle for 4 s
  const AutoscaleDecision d = a.evaluate(5, 10, 0);
  EXPECT_DOUBLE_EQ(d.metric, 0.2);
}

TEST(Autoscaler, AveragesOverTheWindowAndRestartsItWhenTheClusterChanges) {
  AutoscaleConfig c = config(0.5);
  c.window = 15;  // three periods
  Autoscaler a(c);
  // Nothing happens before the window is full, however high the load.
  EXPECT_EQ(hold(a, 0, 5, 10, 10, 10).delta, 0);
  EXPECT_EQ(hold(a, 5, 10, 0, 10, 10).delta, 0);
  const AutoscaleDecision d = hold(a, 10, 15, 8, 10, 10);
  EXPECT_DOUBLE_EQ(d.metric, 0.6);  // (10 + 0 + 8) / 30
  EXPECT_EQ(d.delta, 2);
  // Another size in service: the window starts again.
  EXPECT_EQ(hold(a, 15, 20, 12, 12, 12).delta, 0);
  EXPECT_EQ(hold(a, 20, 25, 12, 12, 12).delta, 0);
  EXPECT_EQ(hold(a, 25, 30, 12, 12, 12).delta, 8);  // ceil(12 x 1 / 0.5) = 24, at most 20
}

TEST(Autoscaler, BacklogCountsWaitingTasks) {
  AutoscaleConfig c = config(1.0);
  c.metric = AutoscaleConfig::Metric::kBacklog;
  Autoscaler a(c);
  a.update(0, 4, 12, 4);  // 4 slots busy, 8 more tasks waiting
  const AutoscaleDecision d = a.evaluate(5, 4, 0);
  EXPECT_DOUBLE_EQ(d.metric, 3.0);
  EXPECT_EQ(d.desired, 12u);
}

TEST(Autoscaler, CooldownMinAndMax) {
  Autoscaler a(config(0.5));
  EXPECT_EQ(hold(a, 0, 5, 10, 10, 10).delta, 10);  // ceil(10 x 1 / 0.5) = 20, the max
  // Still saturated 5 s later: inside the 10 s scale-out cooldown.
  EXPECT_EQ(hold(a, 5, 10, 10, 10, 10, 10).delta, 0);
  // After the cooldown it would grow, but the max (20, booting included) holds.
  EXPECT_EQ(hold(a, 10, 15, 10, 10, 10, 10).delta, 0);
  EXPECT_EQ(hold(a, 15, 20, 20, 20, 20).delta, 0);
  // Below the minimum (workers died): back to it at once.
  const AutoscaleDecision d = hold(a, 20, 25, 0, 1, 1);
  EXPECT_EQ(d.desired, 2u);
  EXPECT_EQ(d.delta, 1);
}

TEST(Autoscaler, BootingCapacityCounts) {
  Autoscaler a(config(0.5));
  // 10 in service at 75 %: wants 15; 5 are already booting.
  EXPECT_EQ(hold(a, 0, 5, 7.5, 10, 10, 5).delta, 0);
}

TEST(Autoscaler, ScalesInOnlyAfterASustainedLowAndItsCooldown) {
  Autoscaler a(config(0.6));
  // Low (20 %) from the start: the third low evaluation may act; the scale-in cooldown
  // counts from the last action, and there was none.
  EXPECT_EQ(hold(a, 0, 5, 2, 10, 10).delta, 0);
  EXPECT_EQ(hold(a, 5, 10, 2, 10, 10).delta, 0);
  const AutoscaleDecision d = hold(a, 10, 15, 2, 10, 10);
  EXPECT_EQ(d.desired, 5u);  // ceil(10 x 0.2 / 0.6) = 4, but at most half go at once
  EXPECT_EQ(d.delta, -5);
  // Still low on 4 workers (25 %, of 0.6 is low): the sustained count restarts and the
  // cooldown (30 s) holds it until t = 45.
  for (double t = 15; t < 40; t += 5) EXPECT_EQ(hold(a, t, t + 5, 1, 4, 4).delta, 0) << t;
  EXPECT_EQ(hold(a, 40, 45, 1, 4, 4).delta, -2);  // to the minimum, 2
  // Never below the minimum.
  for (double t = 45; t < 200; t += 5) EXPECT_EQ(hold(a, t, t + 5, 0, 2, 2).delta, 0) << t;
}

TEST(Autoscaler, NoisySteadyLoadDoesNotFlap) {
  Autoscaler a(config(0.6));
  Rng rng(3, 0);
  int actions = 0;
  double t = 0;
  // Utilisation around the target, within the band, sampled every second.
  for (int i = 0; i < 20000; ++i) {
    const double busy = 10 * (0.6 + rng.uniform(-0.05, 0.05));
    a.update(t, busy, busy, 10);
    t += 1;
    if (t >= a.next_evaluation()) actions += a.evaluate(t, 10, 0).delta != 0;
  }
  EXPECT_EQ(actions, 0);
}

// --- the scheduler with autoscaling, driven by a small discrete-event loop ---

// Workers run their FIFO with `slots` executors; every task takes `service` seconds.
// A scale-out boots workers after `boot_delay`; a retire stops one (it must be empty).
class MiniCluster {
 public:
  MiniCluster(const AutoscaleConfig& a, int initial, double boot_delay) : boot_delay_(boot_delay) {
    SchedulerConfig c{/*seed=*/5, /*queue_cap=*/-1, /*epoch=*/1};
    c.autoscale = a;
    core_ = std::make_unique<Scheduler>(c, std::move(*make_policy("least_connections")));
    for (int i = 0; i < initial; ++i) join(0, false);
  }

  void arrive(double at) {
    at_.emplace(at, [this] {
      JobSpec job;
      job.tasks.push_back(TaskSpec{1e9, {}});
      core_->on_job_submitted(now_, job);
      ++submitted_;
    });
  }

  void run(double until) {
    for (;;) {
      const double next_event = at_.empty() ? kNever : at_.begin()->first;
      const double tick = core_->next_wakeup();
      const double t = std::min(next_event, tick);
      if (t > until || t == kNever) break;
      now_ = t;
      if (tick <= next_event) {
        core_->on_tick(t);
      } else {
        auto f = std::move(at_.begin()->second);
        at_.erase(at_.begin());
        f();
      }
      apply();
      // How many workers are up (in service or draining).
      std::size_t up = 0;
      for (const auto& [w, state] : workers_) up += state.stopped ? 0 : 1;
      peak_ = std::max(peak_, up);
    }
  }

  Scheduler& core() { return *core_; }
  std::size_t submitted() const { return submitted_; }
  std::size_t peak() const { return peak_; }
  std::size_t up() const {
    std::size_t n = 0;
    for (const auto& [w, state] : workers_) n += state.stopped ? 0 : 1;
    return n;
  }
  int scale_outs = 0, scale_ins = 0, retires = 0;
  std::vector<Notice> notices;

 private:
  struct WorkerState {
    std::deque<TaskId> queue;
    int running = 0;
    bool stopped = false;
  };
  static constexpr int kSlots = 2;
  static constexpr double kService = 1.0;

  void join(double t, bool booted) {
    const WorkerId w = core_->on_worker_joined(t, WorkerSpec{"w" + std::to_string(next_name_++), "g", 1e9, kSlots, 0},
                                               {}, booted);
    workers_[w];
  }

  void start_next(WorkerId w) {
    WorkerState& s = workers_[w];
    while (s.running < kSlots && !s.queue.empty()) {
      const TaskId t = s.queue.front();
      s.queue.pop_front();
      ++s.running;
      const double started = now_;
      at_.emplace(now_ + kService, [this, w, t, started] {
        --workers_[w].running;
        core_->on_task_finished(now_, t, w, started);
        start_next(w);
      });
    }
  }

  void apply() {
    std::vector<Command> commands;
    core_->take_commands(commands);
    std::vector<Notice> n;
    core_->take_notices(n);
    notices.insert(notices.end(), n.begin(), n.end());
    for (const Command& c : commands) {
      switch (c.kind) {
        case Command::Kind::kDispatch:
          ASSERT_FALSE(workers_[c.worker].stopped) << "dispatch to a stopped worker";
          workers_[c.worker].queue.push_back(c.task);
          start_next(c.worker);
          break;
        case Command::Kind::kScaleOut:
          ++scale_outs;
          for (std::uint32_t i = 0; i < c.count; ++i) at_.emplace(now_ + boot_delay_, [this] { join(now_, true); });
          break;
        case Command::Kind::kScaleIn: ++scale_ins; break;
        case Command::Kind::kRetire: {
          ++retires;
          WorkerState& s = workers_[c.worker];
          ASSERT_TRUE(s.queue.empty() && s.running == 0) << "retired a worker that still holds tasks";
          s.stopped = true;
          break;
        }
        case Command::Kind::kCancel: break;
      }
    }
  }

  std::unique_ptr<Scheduler> core_;
  double boot_delay_;
  double now_ = 0;
  std::multimap<double, std::function<void()>> at_;  // equal times keep insertion order
  std::map<WorkerId, WorkerState> workers_;
  int next_name_ = 0;
  std::size_t submitted_ = 0;
  std::size_t peak_ = 0;
};

// Poisson arrivals at `rate` over [from, to).
void poisson(MiniCluster& m, Rng& rng, double rate, double from, double to) {
  for (double t = from + rng.exponential(1 / rate); t < to; t += rng.exponential(1 / rate)) m.arrive(t);
}

TEST(SchedulerAutoscale, GrowsAndShrinksUnderALoadStepWithoutLosingATask) {
  AutoscaleConfig a = config(0.6);
  a.min_workers = 2;
  a.max_workers = 16;
  a.window = 30;
  MiniCluster m(a, /*initial=*/2, /*boot_delay=*/10);
  Rng rng(11, 0);
  // 1 slot-second per task, 2 slots per worker: rate 1 keeps the minimum (2) at 25 %;
  // rate 12 needs 10 workers at 60 %.
  poisson(m, rng, 1, 0, 200);
  poisson(m, rng, 12, 200, 600);
  poisson(m, rng, 1, 600, 1200);
  m.run(1300);
  EXPECT_EQ(m.core().tasks_unfinished(), 0u);
  EXPECT_EQ(m.core().table().tasks.size(), m.submitted());
  for (const Task& t : m.core().table().tasks) EXPECT_EQ(t.state, TaskState::kFinished);
  EXPECT_GE(m.peak(), 9u);     // grew for the step
  EXPECT_LE(m.peak(), 16u);
  EXPECT_LE(m.up(), 4u);       // and shrank back after it
  EXPECT_GE(m.up(), 2u);
  EXPECT_EQ(m.scale_ins, m.retires);  // every drained worker was stopped, once
  std::printf("peak %zu, up %zu, scale-outs %d, scale-ins %d\n", m.peak(), m.up(), m.scale_outs, m.scale_ins);
  // No flapping: a handful of actions for one step up and one down.
  EXPECT_LE(m.scale_outs, 6);
  EXPECT_LE(m.scale_ins, 16);
  // Scale-outs all happen in the high phase, scale-ins outside it.
  for (const Notice& n : m.notices) {
    if (n.kind == Notice::Kind::kScaleOut) {
      EXPECT_TRUE(n.time >= 200 && n.time < 620) << n.time;
    }
  }
}

TEST(SchedulerAutoscale, DrainingWorkerFinishesWhatItHoldsAndGetsNothingNew) {
  AutoscaleConfig a = config(0.6);
  a.min_workers = 1;
  a.scale_in_after = 1;
  a.scale_in_cooldown = 0;
  SchedulerConfig c{1, -1, 1};
  c.autoscale = a;
  Scheduler s(c, std::move(*make_policy("round_robin")));
  s.on_worker_joined(0, WorkerSpec{"a", "g", 1e9, 4, 0});
  s.on_worker_joined(0, WorkerSpec{"b", "g", 1e9, 4, 0});
  JobSpec job;
  for (int i = 0; i < 2; ++i) job.tasks.push_back(TaskSpec{1e9, {}});
  s.on_job_submitted(0, job);  // one task each
  std::vector<Command> out;
  s.take_commands(out);
  ASSERT_EQ(out.size(), 2u);
  // 2 of 8 slots busy: 25 %, below 54 %: drain one (b, the newest of equal load).
  s.on_tick(5);
  s.take_commands(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Command::Kind::kScaleIn);
  const WorkerId drained = out[0].worker;
  EXPECT_EQ(drained, 1u);
  EXPECT_FALSE(s.cluster().is_eligible(drained));
  // New work goes to the other worker only.
  s.on_job_submitted(6, job);
  s.take_commands(out);
  for (const Command& cmd : out) EXPECT_EQ(cmd.worker, 0u);
  // Its task finishes: it is retired, and the completion counts.
  s.on_task_finished(7, 1, drained, 0);
  s.take_commands(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Command::Kind::kRetire);
  EXPECT_EQ(s.table().tasks[1].state, TaskState::kFinished);
  // Its disconnection afterwards is no death and moves nothing.
  s.on_worker_left(8, drained);
  std::vector<Notice> notices;
  s.take_notices(notices);
  for (const Notice& n : notices) EXPECT_NE(n.kind, Notice::Kind::kWorkerDead);
  EXPECT_EQ(s.in_service(), 1u);
}

TEST(SchedulerAutoscale, IsDeterministic) {
  auto once = [] {
    AutoscaleConfig a = config(0.6);
    a.window = 20;
    MiniCluster m(a, 2, 10);
    Rng rng(4, 0);
    poisson(m, rng, 2, 0, 100);
    poisson(m, rng, 10, 100, 300);
    poisson(m, rng, 1, 300, 700);
    m.run(800);
    std::vector<std::tuple<double, int, WorkerId, std::uint32_t>> trace;
    for (const Notice& n : m.notices) trace.emplace_back(n.time, static_cast<int>(n.kind), n.worker, n.count);
    std::vector<std::tuple<double, double, WorkerId>> tasks;
    for (const Task& t : m.core().table().tasks) tasks.emplace_back(t.start, t.end, t.worker);
    return std::make_pair(trace, tasks);
  };
  EXPECT_EQ(once(), once());
}

TEST(SchedulerAutoscale, OffByDefaultAsksForNoTicks) {
  Scheduler s(SchedulerConfig{}, std::move(*make_policy("round_robin")));
  s.on_worker_joined(0, WorkerSpec{"a", "g", 1e9, 1, 0});
  EXPECT_EQ(s.next_wakeup(), kNever);
}

}  // namespace
}  // namespace fulcrum
