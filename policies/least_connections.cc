// least_connections: the eligible worker with the fewest tasks in its system (queued plus
// running, the "active connections"), ties to the lowest id. With `weighted=true` the rank
// is (in_system + 1) / weight, the load per unit of capacity the worker would have with
// the new task: unlike in_system / weight it does not tie all idle workers at 0, so an
// idle cluster fills its fastest workers first (HAProxy's weighted leastconn does the same).
// A worker whose weight is not positive ranks last.
//
// O(log n) per pick and per change: an ordered set of (rank, id) over eligible workers.
#include <cmath>
#include <limits>
#include <set>
#include <utility>
#include <vector>

#include "policies/builtin.h"
#include "policies/per_shape.h"

namespace fulcrum {
namespace {

// One shape's eligible workers, ordered by rank.
class Ranked {
 public:
  explicit Ranked(bool weighted) : weighted_(weighted) {}

  std::optional<WorkerId> pick() const {
    if (ranked_.empty()) return std::nullopt;
    return ranked_.begin()->second;
  }

  void update(const ClusterState& cluster, WorkerId w, bool eligible) {
    if (w >= rank_.size()) rank_.resize(w + 1, kAbsent);
    if (rank_[w] != kAbsent) ranked_.erase({rank_[w], w});
    rank_[w] = eligible ? rank(cluster.worker(w)) : kAbsent;
    if (rank_[w] != kAbsent) ranked_.emplace(rank_[w], w);
  }

 private:
  // Ranks are >= 0 (or +inf), so -1 marks a worker that is not in ranked_.
  static constexpr double kAbsent = -1;

  double rank(const Worker& w) const {
    if (!weighted_) return w.in_system;
    if (!(std::isfinite(w.weight) && w.weight > 0)) return std::numeric_limits<double>::infinity();
    return (w.in_system + 1.0) / w.weight;
  }

  bool weighted_;
  std::set<std::pair<double, WorkerId>> ranked_;  // eligible workers only
  std::vector<double> rank_;                      // by worker id; kAbsent if not in ranked_
};

class LeastConnections final : public Policy {
 public:
  explicit LeastConnections(bool weighted) : weighted_(weighted), shapes_(Ranked(weighted)) {}

  std::string name() const override { return weighted_ ? "least_connections:weighted=true" : "least_connections"; }
  std::optional<WorkerId> pick(const ClusterState& cluster, const Task&, Rng&) override {
    return shapes_.active(cluster).pick();
  }
  void on_worker_changed(const ClusterState& cluster, WorkerId w) override { shapes_.changed(cluster, w); }

 private:
  bool weighted_;
  PerShape<Ranked> shapes_;
};

}  // namespace

PolicyResult make_least_connections(const PolicySpec& spec) {
  if (std::string err = reject_unknown_params(spec, {"weighted"}); !err.empty()) return Error{err};
  bool weighted = false;
  if (auto it = spec.params.find("weighted"); it != spec.params.end()) {
    if (it->second == "true") {
      weighted = true;
    } else if (it->second != "false") {
      return Error{"policy 'least_connections': weighted must be true or false, not '" + it->second + "'"};
    }
  }
  return PolicyResult(std::make_unique<LeastConnections>(weighted));
}

}  // namespace fulcrum
