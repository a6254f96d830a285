// A learned load predictor, and the `learned` policy that dispatches by it.
//
// LoadPredictor predicts how long a task will take on a worker, from its dispatch to its
// completion, as a linear model over features the scheduler already has:
//
//   bias        1
//   service     work / rate_w                       its own run time at w's observed rate
//   backlog     outstanding_w / (rate_w * slots_w)  the work ahead of it, per slot
//   waiting     max(0, in_system_w + 1 - slots_w) / slots_w   tasks it would wait behind
//   staleness   min(now - last_heard_w, 60)         silence hints at a dead or slowed worker
//   group:G     1 if w is in host group G           (one per group the model knows)
//
// `work` is the task's flops, or 1 for a task of unknown size (flops 0), so a workload of
// commands learns in tasks per second. `rate_w` is worker w's observed service rate per
// slot: an exponential average of work / (end - start) over its completions, so it follows
// drift; before w's first completion it is the average over all workers, and before any
// completion a prior of 1e9 (1 Gflop/s). The predictor is never told a worker's speed.
//
// The weights are learned two ways:
//  - online: recursive least squares with forgetting factor `forgetting`, updated on
//    every completion from the features the task had when it was dispatched. A cold start
//    begins from the physical prior (service + backlog, weights 1) and moves from there;
//    the service and backlog weights are kept >= 0 (more work never finishes sooner).
//  - offline: a model file (JSON, format "fulcrum.learned-model" version 1) written by
//    Python (`fulcrum.learned`), fitted on the records of simulation runs; the weights
//    stay fixed, the rates are still observed online.
//
// A LoadPredictor belongs to one policy (one scheduler); it is a plain value.
#pragma once

#include <Eigen/Dense>

#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/cluster.h"
#include "core/expected.h"
#include "core/records.h"
#include "core/task.h"

namespace fulcrum {

inline constexpr std::array<std::string_view, 5> kLearnedFeatures = {"bias", "service", "backlog", "waiting",
                                                                      "staleness"};
inline constexpr std::string_view kLearnedModelFormat = "fulcrum.learned-model";
inline constexpr int kLearnedModelVersion = 1;

// The feature vector of one (task, worker) pair from plain values; `x` has
// kLearnedFeatures.size() + group_count entries, `group` is -1 or < group_count.
void learned_features(double flops, double rate, double outstanding_flops, int slots, std::uint32_t in_system,
                      double staleness, int group, std::size_t group_count, double* x);

// Observed service rates per worker (work per second per slot), exponentially smoothed.
class RateTracker {
 public:
  explicit RateTracker(double smoothing) : smoothing_(smoothing) {}
  // A task of `flops` (0: unknown size, counted as 1) ran on w for `seconds`.
  void observe(WorkerId w, double flops, double seconds);
  // w's rate; before its first completion the all-worker average; before any, 1e9.
  double rate(WorkerId w) const;

 private:
  double smoothing_;
  std::vector<double> rates_;  // 0: none observed yet
  double mean_ = 0;
};

// The contents of a model file.
struct LearnedModel {
  std::vector<std::string> groups;  // host groups with a weight of their own, in order
  std::vector<double> weights;      // kLearnedFeatures, then one per group
  double rate_smoothing = 0.3;      // weight of the newest observation in rate_w
};

// Reads and checks a model file: format, version, feature names, sizes, finite values.
// Errors name the file and the field.
Expected<LearnedModel> load_learned_model(const std::string& path);
// The same checks on JSON text (`source` names it in errors).
Expected<LearnedModel> parse_learned_model(const std::string& text, const std::string& source);

class LoadPredictor {
 public:
  struct Options {
    bool online = true;           // update the weights by RLS on every completion
    double forgetting = 0.99;     // RLS forgetting factor, in (0, 1]
    double rate_smoothing = 0.3;  // weight of the newest observation in rate_w, in (0, 1]
  };

  // A cold online predictor, with no group weights (groups are learned only offline).
  explicit LoadPredictor(const Options& options);
  // A predictor with the model's weights, frozen unless options.online.
  LoadPredictor(const LearnedModel& model, Options options);

  // The predicted time from dispatching a task of `flops` to w until it completes.
  double predict(const ClusterState& cluster, WorkerId w, double flops) const;

  // Remembers the features of a task just dispatched to w (call before the dispatch
  // changes w's load), so that its completion can train the model.
  void on_dispatch(const ClusterState& cluster, WorkerId w, const Task& task);
  // Learns from a completion: updates w's rate and (online) the weights. `task` holds its
  // dispatch and start times; `now` is its end.
  void on_completion(const ClusterState& cluster, WorkerId w, const Task& task, Time now);

  // w's observed service rate per slot (work per second), or the prior it would use.
  double rate(WorkerId w) const;
  const Eigen::VectorXd& weights() const { return theta_; }
  std::size_t group_count() const { return groups_.size(); }

  // The feature vector of a task of `flops` on w, as predict() uses it.
  void features(const ClusterState& cluster, WorkerId w, double flops, Eigen::VectorXd& x) const;

 private:
  int group_of(const ClusterState& cluster, WorkerId w) const;

  Options options_;
  std::vector<std::string> groups_;
  Eigen::VectorXd theta_;
  Eigen::MatrixXd p_;          // RLS inverse-correlation estimate
  RateTracker rates_;
  mutable std::vector<int> group_of_;  // per worker: index into groups_, -1 none, -2 unknown yet
  struct Pending {
    WorkerId worker;
    Eigen::VectorXd x;
  };
  std::unordered_map<TaskId, Pending> pending_;  // dispatched, not yet completed
  mutable Eigen::VectorXd scratch_;
};

// One training example per finished task of a run's records: the features the task had
// when it was dispatched (replaying the records through the same rate tracking as the
// policy) and its time from dispatch to completion. Only tasks with a dispatch time count.
struct TrainingSet {
  std::vector<std::string> groups;              // sorted host groups of the workers
  std::vector<std::vector<double>> features;    // kLearnedFeatures, then one per group
  std::vector<double> target;
};
TrainingSet training_set(const std::vector<TaskRecord>& tasks, const std::vector<WorkerRecord>& workers,
                         double rate_smoothing = 0.3);

}  // namespace fulcrum
