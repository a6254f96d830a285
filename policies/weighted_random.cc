// weighted_random: an eligible worker drawn with probability proportional to its weight
// (Worker::weight). O(log n) per pick and per change.
//
// A Fenwick tree over worker ids holds each worker's weight if it is eligible and 0
// otherwise. A worker whose weight is not positive is never drawn unless no eligible
// worker has a positive weight; then the draw is uniform among the eligible.
#include <algorithm>
#include <bit>
#include <cmath>
#include <vector>

#include "policies/builtin.h"
#include "policies/per_shape.h"

namespace fulcrum {
namespace {

// Prefix sums of non-negative doubles, 1-based inside, 0-based at the interface.
class Fenwick {
 public:
  std::size_t size() const { return values_.size(); }
  double value(std::size_t i) const { return values_[i]; }

  void push_back(double v) {
    values_.push_back(v);
    const std::size_t i = values_.size();
    // Node i covers (i - lowbit(i), i]: its own value plus the nodes tiling the rest.
    double node = v;
    for (std::size_t j = i - 1; j > i - lowbit(i); j -= lowbit(j)) node += tree_[j];
    tree_.push_back(node);
  }

  void set(std::size_t i, double v) {
    const double delta = v - values_[i];
    if (delta == 0) return;
    values_[i] = v;
    for (std::size_t j = i + 1; j <= size(); j += lowbit(j)) tree_[j] += delta;
    // Adding and subtracting non-integer weights leaves rounding residue in the inner
    // nodes; rebuilding after every size() updates keeps it small at O(1) amortised.
    if (++updates_ >= size()) rebuild();
  }

  double total() const {
    double sum = 0;
    for (std::size_t j = size(); j > 0; j -= lowbit(j)) sum += tree_[j];
    return sum;
  }

  // The smallest i with prefix_sum(i) >= u, i.e. the item whose interval (prefix_sum(i-1),
  // prefix_sum(i)] holds u; size() if u exceeds the total. For u > 0 this is never an item
  // of value 0, up to rounding.
  std::size_t find(double u) const {
    std::size_t pos = 0;
    for (std::size_t step = std::bit_floor(size()); step > 0; step >>= 1) {
      if (pos + step <= size() && tree_[pos + step] < u) {
        pos += step;
        u -= tree_[pos];
      }
    }
    return pos;
  }

  void rebuild() {
    updates_ = 0;
    for (std::size_t i = 1; i <= size(); ++i) tree_[i] = values_[i - 1];
    for (std::size_t i = 1; i <= size(); ++i) {
      if (const std::size_t parent = i + lowbit(i); parent <= size()) tree_[parent] += tree_[i];
    }
  }

 private:
  static std::size_t lowbit(std::size_t i) { return i & (~i + 1); }

  std::vector<double> values_;
  std::vector<double> tree_{0.0};  // tree_[0] is unused
  std::size_t updates_ = 0;
};

// One shape's tree.
class Weights {
 public:
  std::optional<WorkerId> pick(const ClusterState& cluster, Rng& rng) {
    const auto eligible = cluster.eligible();
    if (eligible.empty()) return std::nullopt;
    const double total = tree_.total();
    if (!(total > 0)) return eligible[rng.uniform_int(eligible.size())];
    // 1 - uniform01() is in (0, 1], so u > 0 never lands on a zero-weight worker.
    const double u = (1.0 - rng.uniform01()) * total;
    std::size_t i = tree_.find(u);
    if (valid(i)) return static_cast<WorkerId>(i);
    // Rounding put u just past a boundary: start from exact sums, then take the nearest
    // drawable worker. Reached with probability of order 2^-50, so O(n) is fine here.
    tree_.rebuild();
    i = tree_.find(u);
    if (valid(i)) return static_cast<WorkerId>(i);
    for (std::size_t j = std::min(i, tree_.size() - 1) + 1; j-- > 0;) {
      if (valid(j)) return static_cast<WorkerId>(j);
    }
    for (std::size_t j = i; j < tree_.size(); ++j) {
      if (valid(j)) return static_cast<WorkerId>(j);
    }
    return eligible[rng.uniform_int(eligible.size())];
  }

  void update(const ClusterState& cluster, WorkerId w, bool eligible) {
    const Worker& worker = cluster.worker(w);
    const double weight = eligible && std::isfinite(worker.weight) && worker.weight > 0
                              ? worker.weight
                              : 0.0;
    while (tree_.size() < w) tree_.push_back(0.0);  // only if a worker was never reported
    if (w == tree_.size()) {
      tree_.push_back(weight);
    } else {
      tree_.set(w, weight);
    }
  }

 private:
  bool valid(std::size_t i) const { return i < tree_.size() && tree_.value(i) > 0; }

  Fenwick tree_;
};

class WeightedRandom final : public Policy {
 public:
  std::string name() const override { return "weighted_random"; }
  std::optional<WorkerId> pick(const ClusterState& cluster, const Task&, Rng& rng) override {
    return shapes_.active(cluster).pick(cluster, rng);
  }
  void on_worker_changed(const ClusterState& cluster, WorkerId w) override { shapes_.changed(cluster, w); }

 private:
  PerShape<Weights> shapes_;
};

}  // namespace

PolicyResult make_weighted_random(const PolicySpec& spec) {
  if (std::string err = reject_unknown_params(spec, {}); !err.empty()) return Error{err};
  return PolicyResult(std::make_unique<WeightedRandom>());
}

}  // namespace fulcrum
