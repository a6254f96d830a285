// weighted_round_robin: smooth weighted round robin (nginx). Each pick adds every eligible
// worker's weight to its `current`, takes the largest current (ties to the lowest id) and
// subtracts the total weight from it. Weights 5,1,1 give a a b a c a a: each worker gets
// its share of every cycle, spread out rather than in bursts.
//
// Weights are Worker::weight. A worker with a weight that is not positive is never
// chosen unless no eligible worker has a positive weight; then all count as 1, which is
// plain round robin. O(eligible) per pick.
#include <cmath>
#include <vector>

#include "policies/builtin.h"

namespace fulcrum {
namespace {

class WeightedRoundRobin final : public Policy {
 public:
  std::string name() const override { return "weighted_round_robin"; }

  std::optional<WorkerId> pick(const ClusterState& cluster, const Task&, Rng&) override {
    std::optional<WorkerId> best = round(cluster, /*unit=*/false);
    if (!best) best = round(cluster, /*unit=*/true);
    return best;
  }

  void on_worker_changed(const ClusterState&, WorkerId w) override {
    // Ineligible workers keep their current frozen, as nginx does for peers that are
    // down: the sum over all workers stays 0, so nobody drifts without bound, and a worker
    // that returns resumes where it was instead of getting a burst or a drought.
    if (w >= current_.size()) current_.resize(w + 1, 0.0);
  }

 private:
  static double effective_weight(const Worker& w) {
    return std::isfinite(w.weight) && w.weight > 0 ? w.weight : 0.0;
  }

  // One step of the algorithm; with `unit` every worker weighs 1. Returns nullopt, and
  // changes nothing, if no eligible worker has a positive weight.
  std::optional<WorkerId> round(const ClusterState& cluster, bool unit) {
    const auto eligible = cluster.eligible();
    double total = 0;
    for (const WorkerId w : eligible) total += unit ? 1.0 : effective_weight(cluster.worker(w));
    if (!(total > 0)) return std::nullopt;
    std::optional<WorkerId> best;
    for (const WorkerId w : eligible) {
      const double weight = unit ? 1.0 : effective_weight(cluster.worker(w));
      if (weight == 0) continue;
      current_[w] += weight;
      if (!best || current_[w] > current_[*best] || (current_[w] == current_[*best] && w < *best)) best = w;
    }
    current_[*best] -= total;
    return best;
  }

  std::vector<double> current_;  // indexed by worker id
};

}  // namespace

PolicyResult make_weighted_round_robin(const PolicySpec& spec) {
  if (std::string err = reject_unknown_params(spec, {}); !err.empty()) return Error{err};
  return PolicyResult(std::make_unique<WeightedRoundRobin>());
}

}  // namespace fulcrum
