// PerShape: one copy of a policy's worker index per task shape.
//
// A policy that keeps its own index of eligible workers (jsq's buckets, least_connections'
// ranking, round_robin's cycle, weighted_random's tree) must choose among the workers
// eligible for the task's shape (ClusterState::set_shape), which differ by shape: a GPU
// task's candidates are not a CPU task's. PerShape keeps an index per shape, builds one
// from the cluster the first time its shape is seen, and passes every worker change to
// all of them, O(shapes) per change; a workload has a handful of shapes, and with one
// (every task alike) it costs what a single index did.
//
// `Index` offers `void update(const ClusterState&, WorkerId, bool eligible)`; new indexes
// are copies of the prototype given at construction.
#pragma once

#include <utility>
#include <vector>

#include "core/cluster.h"

namespace fulcrum {

template <class Index>
class PerShape {
 public:
  explicit PerShape(Index prototype = Index()) : prototype_(std::move(prototype)) {}

  // The index of the shape the cluster asks about now.
  Index& active(const ClusterState& cluster) {
    grow(cluster);
    return indexes_[cluster.shape()];
  }

  void changed(const ClusterState& cluster, WorkerId w) {
    grow(cluster);
    for (ShapeId s = 0; s < indexes_.size(); ++s) indexes_[s].update(cluster, w, cluster.is_eligible(w, s));
  }

 private:
  void grow(const ClusterState& cluster) {
    while (indexes_.size() < cluster.shape_count()) {
      const auto s = static_cast<ShapeId>(indexes_.size());
      Index& index = indexes_.emplace_back(prototype_);
      for (WorkerId w = 0; w < cluster.size(); ++w) index.update(cluster, w, cluster.is_eligible(w, s));
    }
  }

  Index prototype_;
  std::vector<Index> indexes_;
};

}  // namespace fulcrum
