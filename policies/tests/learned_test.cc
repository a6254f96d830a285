// Tests of the learned load predictor and the `learned` policy.
//
// A small FIFO queueing model stands in for a cluster: single-slot workers with true
// speeds the predictor is never told (every WorkerSpec says 1 Gflop/s), Poisson arrivals,
// exponential sizes. The model keeps a ClusterState the way the Scheduler does and calls
// the predictor's hooks at dispatch and completion, so the predictor sees exactly what it
// would see in the scheduler.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <queue>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/cluster.h"
#include "core/random.h"
#include "policies/learned.h"
#include "policies/registry.h"

namespace fulcrum {
namespace {

struct Completed {
  Time end = 0;
  WorkerId worker = 0;
  double predicted = 0;
  double actual = 0;
};

class QueueModel {
 public:
  // `speeds` are the true speeds (flop/s); `route` picks the worker of each task.
  QueueModel(std::vector<double> speeds, std::uint64_t seed)
      : speeds_(std::move(speeds)), cluster_(-1), rng_(seed, 7), free_at_(speeds_.size(), 0) {
    for (std::size_t i = 0; i < speeds_.size(); ++i) {
      WorkerSpec s;
      s.name = "w-" + std::to_string(i);
      s.group = "g";
      s.speed = 1e9;  // what the scheduler is told: nothing about the true speed
      cluster_.add(s);
    }
  }

  void set_speed(WorkerId w, double speed) { speeds_[w] = speed; }

  // Runs `n` arrivals at `rate` per second. `agent` decides and learns:
  //   WorkerId choose(const ClusterState&, const Task&, double& predicted)  (before dispatch)
  //   void finished(const ClusterState&, WorkerId, const Task&, Time now)   (before leaving)
  template <class Agent>
  void run(Agent& agent, int n, double rate) {
    if (!introduced_) {
      for (WorkerId w = 0; w < cluster_.size(); ++w) agent.changed(cluster_, w);
      introduced_ = true;
    }
    for (int i = 0; i < n; ++i) {
      now_ += rng_.exponential(1.0 / rate);
      finish_until(agent, now_);
      Task task;
      task.id = static_cast<TaskId>(tasks_.size());
      task.flops = rng_.exponential(1e9);
      task.submit = task.dispatched = now_;
      cluster_.set_now(now_);
      double predicted = 0;
      const WorkerId w = agent.choose(cluster_, task, predicted);
      // FIFO, one slot: starts when the worker is free, runs at the worker's true speed
      // as it is at the start.
      task.start = std::max(now_, free_at_[w]);
      const double end = task.start + task.flops / speeds_[w];
      free_at_[w] = end;
      task.worker = w;
      tasks_.push_back(task);
      predicted_.push_back(predicted);
      Worker& worker = cluster_.mutable_worker(w);
      ++worker.in_system;
      worker.outstanding_flops += task.flops;
      cluster_.refresh(w);
      agent.changed(cluster_, w);
      ends_.push({end, task.id});
    }
    finish_until(agent, 1e300);
  }

  const std::vector<Completed>& completed() const { return completed_; }
  const ClusterState& cluster() const { return cluster_; }
  Time now() const { return now_; }

 private:
  template <class Agent>
  void finish_until(Agent& agent, Time until) {
    while (!ends_.empty() && ends_.top().first <= until) {
      const auto [end, id] = ends_.top();
      ends_.pop();
      const Task& task = tasks_[id];
      cluster_.set_now(end);
      Worker& worker = cluster_.mutable_worker(task.worker);
      worker.last_heard = end;
      agent.finished(cluster_, task.worker, task, end);
      --worker.in_system;
      worker.outstanding_flops = worker.in_system ? worker.outstanding_flops - task.flops : 0;
      cluster_.refresh(task.worker);
      agent.changed(cluster_, task.worker);
      completed_.push_back({end, task.worker, predicted_[id], end - task.dispatched});
    }
  }

  using End = std::pair<Time, TaskId>;
  std::vector<double> speeds_;
  ClusterState cluster_;
  Rng rng_;
  Time now_ = 0;
  bool introduced_ = false;
  std::vector<Time> free_at_;
  std::vector<Task> tasks_;
  std::vector<double> predicted_;
  std::priority_queue<End, std::vector<End>, std::greater<>> ends_;
  std::vector<Completed> completed_;
};

// The prediction error of completions [from, to): total absolute error over total actual
// time (per-task relative errors would be dominated by the tiniest exponential tasks).
double mean_relative_error(const std::vector<Completed>& c, std::size_t from, std::size_t to) {
  double error = 0, actual = 0;
  for (std::size_t i = from; i < to; ++i) {
    error += std::abs(c[i].predicted - c[i].actual);
    actual += c[i].actual;
  }
  return error / actual;
}

// Routes uniformly at random (so every worker is observed) and lets the predictor learn.
struct UniformLearner {
  LoadPredictor predictor{LoadPredictor::Options{}};
  Rng rng{5, 1};
  WorkerId choose(const ClusterState& cluster, const Task& task, double& predicted) {
    const auto w = static_cast<WorkerId>(rng.uniform_int(cluster.size()));
    predicted = predictor.predict(cluster, w, task.flops);
    predictor.on_dispatch(cluster, w, task);
    return w;
  }
  void finished(const ClusterState& cluster, WorkerId w, const Task& task, Time now) {
    predictor.on_completion(cluster, w, task, now);
  }
  void changed(const ClusterState&, WorkerId) {}
};

// Dispatches with a policy built from a spec, through the Policy interface only.
struct PolicyAgent {
  explicit PolicyAgent(const std::string& spec) {
    auto made = make_policy(spec);
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error());
    policy = std::move(*made);
  }
  std::unique_ptr<Policy> policy;
  Rng rng{9, 1};
  std::vector<int> share = std::vector<int>(8, 0);
  WorkerId choose(const ClusterState& cluster, const Task& task, double&) {
    const WorkerId w = *policy->pick(cluster, task, rng);
    ++share[w];
    return w;
  }
  void finished(const ClusterState& cluster, WorkerId w, const Task& task, Time now) {
    policy->on_task_finished(cluster, w, task, now);
  }
  void changed(const ClusterState& cluster, WorkerId w) { policy->on_worker_changed(cluster, w); }
};

TEST(LoadPredictor, ErrorFallsAsItLearnsUnknownSpeeds) {
  // Speeds 0.5, 1, 2 and 4 Gflop/s; arrivals at 0.9/s, under half the slowest worker's
  // capacity with uniform routing.
  QueueModel model({0.5e9, 1e9, 2e9, 4e9}, 3);
  UniformLearner learner;
  model.run(learner, 4000, 0.9);
  const auto& c = model.completed();
  ASSERT_EQ(c.size(), 4000u);
  const double early = mean_relative_error(c, 0, 40);
  const double late = mean_relative_error(c, 3000, 4000);
  std::printf("relative error: first 40 tasks %.3f, last 1000 %.3f\n", early, late);

  EXPECT_LT(late, 0.5 * early);
  EXPECT_LT(late, 0.35);
  // The observed rates found the true speeds (exponential sizes make them noisy).
  EXPECT_NEAR(learner.predictor.rate(0) / 0.5e9, 1, 0.5);
  EXPECT_NEAR(learner.predictor.rate(3) / 4e9, 1, 0.5);
  EXPECT_GT(learner.predictor.rate(3), 3 * learner.predictor.rate(0));
}

// Worker 0's error before a slowdown, right after it, and once the predictor has had time
// to follow it.
struct SlowdownErrors {
  double settled, right_after, recovered, rate;
};
SlowdownErrors slowdown_errors(double rate_smoothing) {
  QueueModel model({2e9, 2e9, 2e9, 2e9}, 11);
  UniformLearner learner;
  learner.predictor = LoadPredictor(LoadPredictor::Options{.rate_smoothing = rate_smoothing});
  model.run(learner, 2000, 2.0);
  const std::size_t before = model.completed().size();
  const double settled = mean_relative_error(model.completed(), before - 500, before);
  model.set_speed(0, 0.8e9);  // worker 0 becomes 2.5x slower (load 0.625 on it)
  model.run(learner, 3000, 2.0);
  const auto& c = model.completed();
  // Worker 0's predictions, in completion order after the slowdown.
  std::vector<Completed> w0;
  for (std::size_t i = before; i < c.size(); ++i) {
    if (c[i].worker == 0) w0.push_back(c[i]);
  }
  EXPECT_GT(w0.size(), 300u);
  return {settled, mean_relative_error(w0, 0, 20), mean_relative_error(w0, w0.size() - 150, w0.size()),
          learner.predictor.rate(0)};
}

TEST(LoadPredictor, RecoversAfterASlowdown) {
  const SlowdownErrors e = slowdown_errors(0.3);
  std::printf("worker 0 error: settled %.3f, right after the slowdown %.3f, recovered %.3f\n", e.settled,
              e.right_after, e.recovered);
  EXPECT_GT(e.right_after, 1.5 * e.settled);
  EXPECT_LT(e.recovered, 1.25 * e.settled);
  EXPECT_NEAR(e.rate / 0.8e9, 1, 0.25);
  // The recovery is the rate tracking at work: a predictor that barely updates its rates
  // stays wrong.
  const SlowdownErrors frozen = slowdown_errors(0.001);
  std::printf("with smoothing 0.001: recovered %.3f\n", frozen.recovered);
  EXPECT_GT(frozen.recovered, 1.4 * e.recovered);
}

TEST(LearnedPolicy, LearnsSpeedsAndShiftsWorkAwayFromASlowedWorker) {
  // True speeds 1, 1, 4, 4 Gflop/s, all reported as 1: the learned policy finds the fast
  // pair; jsq sees only queue lengths, and sends a task to an idle slow worker.
  QueueModel learned_model({1e9, 1e9, 4e9, 4e9}, 21), jsq_model({1e9, 1e9, 4e9, 4e9}, 21);
  PolicyAgent learned("learned"), jsq("jsq");
  learned_model.run(learned, 4000, 6.0);
  jsq_model.run(jsq, 4000, 6.0);
  const auto mean_response = [](const QueueModel& m) {
    double sum = 0;
    for (const auto& c : m.completed()) sum += c.actual;
    return sum / static_cast<double>(m.completed().size());
  };
  std::printf("fast share: learned %.2f, jsq %.2f; mean response learned %.3f, jsq %.3f\n",
              (learned.share[2] + learned.share[3]) / 4000.0, (jsq.share[2] + jsq.share[3]) / 4000.0,
              mean_response(learned_model), mean_response(jsq_model));
  EXPECT_GT(learned.share[2] + learned.share[3], 0.7 * 4000);  // 4/5 of the capacity is fast
  EXPECT_LT(mean_response(learned_model), 0.8 * mean_response(jsq_model));

  // Worker 2 slows to 0.25 Gflop/s: the policy should move its work to worker 3.
  std::fill(learned.share.begin(), learned.share.end(), 0);
  learned_model.set_speed(2, 0.25e9);
  learned_model.run(learned, 4000, 4.0);
  std::printf("after slowing worker 2: shares %d %d %d %d\n", learned.share[0], learned.share[1], learned.share[2],
              learned.share[3]);
  EXPECT_LT(learned.share[2], learned.share[0]);
  EXPECT_LT(learned.share[2], learned.share[3] / 4);
}

// ------------------------------------------------------------------------------ model files

class ModelFile : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("fulcrum_model_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++) + ".json"))
                                 .string();
    std::ofstream(path) << text;
    paths_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const auto& p : paths_) std::filesystem::remove(p);
  }
  static std::string model(const std::string& format, int version, const std::string& features,
                           const std::string& groups, const std::string& weights) {
    return "{\"format\": \"" + format + "\", \"version\": " + std::to_string(version) + ", \"features\": " + features +
           ", \"groups\": " + groups + ", \"weights\": " + weights + "}";
  }
  static constexpr const char* kFeatures = R"(["bias", "service", "backlog", "waiting", "staleness"])";

 private:
  int counter_ = 0;
  std::vector<std::string> paths_;
};

TEST_F(ModelFile, AValidModelLoadsAndIsUsed) {
  const std::string path = write(model("fulcrum.learned-model", 1, kFeatures, R"(["slow", "fast"])",
                                       "[0.5, 2, 1, 0, 0, 3, -0.25]"));
  auto m = load_learned_model(path);
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m->groups, (std::vector<std::string>{"slow", "fast"}));
  ASSERT_EQ(m->weights.size(), 7u);
  LoadPredictor predictor(*m, LoadPredictor::Options{.online = false});
  ClusterState cluster(-1);
  WorkerSpec fast;
  fast.group = "fast";
  cluster.add(fast);
  // Idle worker, prior rate 1e9: bias 0.5 + service 2 x 1 s + group fast -0.25.
  EXPECT_DOUBLE_EQ(predictor.predict(cluster, 0, 1e9), 0.5 + 2.0 - 0.25);
  EXPECT_TRUE(make_policy("learned:model=" + path).ok());
  EXPECT_TRUE(make_policy("learned:model=" + path + ",mode=online,d=2").ok());
}

TEST_F(ModelFile, MalformedOrMismatchedModelsAreRefusedWithTheField) {
  const struct {
    std::string text;
    std::string needle;
  } cases[] = {
      {"{not json", "not valid JSON"},
      {"[1, 2]", "JSON object"},
      {model("something-else", 1, kFeatures, "[]", "[0,1,1,0,0]"), "format"},
      {model("fulcrum.learned-model", 2, kFeatures, "[]", "[0,1,1,0,0]"), "version: 2 is not supported"},
      {model("fulcrum.learned-model", 1, R"(["bias", "service", "backlog", "waiting"])", "[]", "[0,1,1,0]"),
       "features: must be [bias, service, backlog, waiting, staleness]"},
      {model("fulcrum.learned-model", 1, R"(["bias", "service", "backlog", "staleness", "waiting"])", "[]",
             "[0,1,1,0,0]"),
       "features"},
      {model("fulcrum.learned-model", 1, kFeatures, R"(["a"])", "[0,1,1,0,0]"), "weights: must be a list of 6"},
      {model("fulcrum.learned-model", 1, kFeatures, "[]", "[0,1,1,0,\"x\"]"), "weights: must be finite"},
      {model("fulcrum.learned-model", 1, kFeatures, R"(["a", "a"])", "[0,1,1,0,0,1,1]"), "groups: names a group twice"},
      {R"({"format": "fulcrum.learned-model", "version": 1, "features": ["bias", "service", "backlog", "waiting", "staleness"], "weights": [0,1,1,0,0], "rate_smoothing": 0})",
       "rate_smoothing"},
  };
  for (const auto& c : cases) {
    const std::string path = write(c.text);
    auto m = load_learned_model(path);
    ASSERT_FALSE(m.ok()) << c.text;
    EXPECT_NE(m.error().find(path), std::string::npos) << m.error();
    EXPECT_NE(m.error().find(c.needle), std::string::npos) << m.error();
    auto policy = make_policy("learned:model=" + path);
    ASSERT_FALSE(policy.ok());
    EXPECT_NE(policy.error().find(c.needle), std::string::npos) << policy.error();
  }
  auto missing = make_policy("learned:model=/nonexistent/model.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("/nonexistent/model.json: cannot read"), std::string::npos) << missing.error();
}

TEST(LearnedSpec, BadParametersAreRefused) {
  EXPECT_FALSE(make_policy("learned:mode=sometimes").ok());
  EXPECT_FALSE(make_policy("learned:mode=offline").ok());  // needs a model
  EXPECT_FALSE(make_policy("learned:d=-1").ok());
  EXPECT_FALSE(make_policy("learned:forgetting=0").ok());
  EXPECT_FALSE(make_policy("learned:forgetting=1.5").ok());
  EXPECT_FALSE(make_policy("learned:speed=1").ok());
  auto ok = make_policy("learned:mode=online,d=2,forgetting=0.995,smoothing=0.5");
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ((*ok)->name(), "learned:mode=online,d=2");
}

// ------------------------------------------------------------------------------ training set

TEST(TrainingSet, ReplaysTheRecordsIntoDispatchTimeFeatures) {
  // Two tasks on one single-slot worker: the second is dispatched while the first runs.
  std::vector<WorkerRecord> workers{{"w-0", "g", 1e9, 1, 2, 3, 0}, {"w-1", "h", 1e9, 1, 0, 0, 0}};
  std::vector<TaskRecord> tasks{
      TaskRecord{0, 0, 2e9, 0, 0, 0, 2, 0, 1, TaskState::kFinished},
      TaskRecord{1, 1, 1e9, 1, 1, 2, 3, 0, 1, TaskState::kFinished},
      TaskRecord{2, 2, 1e9, 1, -1, -1, -1, kNoWorker, 0, TaskState::kPending},  // never dispatched
  };
  const TrainingSet set = training_set(tasks, workers);
  EXPECT_EQ(set.groups, (std::vector<std::string>{"g", "h"}));
  ASSERT_EQ(set.target.size(), 2u);
  EXPECT_EQ(set.target, (std::vector<double>{2, 2}));
  // Task 0: idle worker, prior rate 1e9: service 2 s, group g.
  EXPECT_EQ(set.features[0], (std::vector<double>{1, 2, 0, 0, 0, 1, 0}));
  // Task 1 at t=1: 2e9 flops outstanding, one task ahead, last heard at its start (t=0);
  // no completion observed yet, so the rate is still the prior.
  EXPECT_EQ(set.features[1], (std::vector<double>{1, 1, 2, 1, 1, 1, 0}));
}

}  // namespace
}  // namespace fulcrum
