// power_of_d: the power of d choices. Samples d distinct eligible workers uniformly and
// picks the one with the fewest tasks in its system (queued plus running), ties to the
// first sampled. With d >= the number of eligible workers it considers them all, in random
// order, which is JSQ with random tie-breaking. Parameter d: an integer >= 1, default 2.
//
// The sample is a partial Fisher-Yates shuffle of positions in cluster.eligible(), so it
// comes in uniformly random order and the tie-break is fair. Stateless between picks.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "policies/builtin.h"

namespace fulcrum {
namespace {

class PowerOfD final : public Policy {
 public:
  explicit PowerOfD(std::uint32_t d) : d_(d) {}

  std::string name() const override { return "power_of_d:d=" + std::to_string(d_); }

  std::optional<WorkerId> pick(const ClusterState& cluster, const Task&, Rng& rng) override {
    const auto eligible = cluster.eligible();
    if (eligible.empty()) return std::nullopt;
    sample(eligible.size(), std::min<std::size_t>(d_, eligible.size()), rng);
    WorkerId best = eligible[sampled_.front()];
    for (const std::uint32_t i : sampled_) {
      const WorkerId w = eligible[i];
      if (cluster.worker(w).in_system < cluster.worker(best).in_system) best = w;
    }
    return best;
  }

 private:
  // Fills sampled_ with k distinct positions of [0, m) in uniformly random order: the
  // first k steps of a Fisher-Yates shuffle of the identity. When k is small next to m
  // the permutation is kept sparse, as the few positions moved away from identity, for
  // O(k^2) time; otherwise it is materialised for O(m) <= O(k^2). Scratch vectors are
  // members so that steady-state picks do not allocate.
  void sample(std::size_t m, std::size_t k, Rng& rng) {
    sampled_.clear();
    if (k * k >= m) {
      dense_.resize(m);
      std::iota(dense_.begin(), dense_.end(), 0u);
      for (std::size_t i = 0; i < k; ++i) {
        std::swap(dense_[i], dense_[i + rng.uniform_int(m - i)]);
        sampled_.push_back(dense_[i]);
      }
      return;
    }
    moved_.clear();  // (position, value) where the permutation differs from identity
    const auto at = [&](std::uint32_t pos) {
      for (const auto& [p, v] : moved_) {
        if (p == pos) return v;
      }
      return pos;
    };
    for (std::size_t i = 0; i < k; ++i) {
      const auto j = static_cast<std::uint32_t>(i + rng.uniform_int(m - i));
      const std::uint32_t vi = at(static_cast<std::uint32_t>(i));
      sampled_.push_back(at(j));
      // Position i is never read again, so only j needs to remember the swap.
      bool found = false;
      for (auto& [p, v] : moved_) {
        if (p == j) {
          v = vi;
          found = true;
        }
      }
      if (!found) moved_.emplace_back(j, vi);
    }
  }

  std::uint32_t d_;
  std::vector<std::uint32_t> sampled_;
  std::vector<std::uint32_t> dense_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> moved_;
};

}  // namespace

PolicyResult make_power_of_d(const PolicySpec& spec) {
  if (std::string err = reject_unknown_params(spec, {"d"}); !err.empty()) return Error{err};
  std::uint32_t d = 2;
  if (auto it = spec.params.find("d"); it != spec.params.end()) {
    const std::string& text = it->second;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (ec != std::errc() || end != text.data() + text.size() || d < 1) {
      return Error{"policy 'power_of_d': d must be an integer >= 1, not '" + text + "'"};
    }
  }
  return PolicyResult(std::make_unique<PowerOfD>(d));
}

}  // namespace fulcrum
