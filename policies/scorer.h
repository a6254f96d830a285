// The packing scorers (first_fit, binpack, spread, tetris): each scores the workers where
// a task's whole request fits what is free now, Kubernetes-style, and the best score wins
// (ties to the lowest worker id, so a scorer is deterministic and checkable by brute
// force). A task that fits nowhere now waits centrally, whatever the queue cap: a scorer
// binds a task only where it can start, so local queues never hold it. O(eligible
// workers) per pick: they are the classic scorers, scanning as Kubernetes' do.
//
// Utilisation-based scores look at the dimensions a worker has a finite, positive amount
// of (memory not limited counts for nothing).
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "core/policy.h"

namespace fulcrum {

// A scorer's score of worker w for a task of the active shape: higher is better.
using Score = double (*)(const ClusterState& cluster, const Worker& w, const std::vector<double>& request);

// The eligible worker where the request fits free resources with the highest score.
inline std::optional<WorkerId> best_scored(const ClusterState& cluster, Score score) {
  std::optional<WorkerId> best;
  double best_score = 0;
  const std::vector<double>& request = cluster.request(cluster.shape());
  for (const WorkerId w : cluster.eligible()) {
    if (!cluster.fits_free(w, cluster.shape())) continue;
    const double s = score(cluster, cluster.worker(w), request);
    if (!best || s > best_score || (s == best_score && w < *best)) {
      best = w;
      best_score = s;
    }
  }
  return best;
}

// Whether dimension d of w counts in utilisation scores.
inline bool counted(const Worker& w, std::size_t d) { return std::isfinite(w.capacity[d]) && w.capacity[d] > 0; }

// The mean over counted dimensions of what w would have in use, as a fraction of its
// capacity, once `request` is placed on it.
inline double allocated_after(const Worker& w, const std::vector<double>& request) {
  double sum = 0;
  int n = 0;
  for (std::size_t d = 0; d < request.size(); ++d) {
    if (!counted(w, d)) continue;
    sum += (w.capacity[d] - w.free[d] + request[d]) / w.capacity[d];
    ++n;
  }
  return n == 0 ? 0 : sum / n;
}

class Scorer final : public Policy {
 public:
  Scorer(std::string name, Score score) : name_(std::move(name)), score_(score) {}
  std::string name() const override { return name_; }
  std::optional<WorkerId> pick(const ClusterState& cluster, const Task&, Rng&) override {
    return best_scored(cluster, score_);
  }

 private:
  std::string name_;
  Score score_;
};

}  // namespace fulcrum
