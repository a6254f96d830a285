// DistinctSampler: k distinct positions of [0, m), uniformly at random, in random order.
//
// The first k steps of a Fisher-Yates shuffle of the identity. When k is small next to m
// the permutation is kept sparse, as the few positions moved away from identity, for
// O(k^2) time; otherwise it is materialised for O(m) <= O(k^2). The scratch vectors are
// members so that steady-state samples do not allocate. Used by the sampling policies
// (power_of_d, learned with d); one sampler per policy, not shared.
#pragma once

#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "core/random.h"

namespace fulcrum {

class DistinctSampler {
 public:
  // REQUIRES: 1 <= k <= m. The result stays valid until the next call.
  const std::vector<std::uint32_t>& sample(std::size_t m, std::size_t k, Rng& rng) {
    sampled_.clear();
    if (k * k >= m) {
      dense_.resize(m);
      std::iota(dense_.begin(), dense_.end(), 0u);
      for (std::size_t i = 0; i < k; ++i) {
        std::swap(dense_[i], dense_[i + rng.uniform_int(m - i)]);
        sampled_.push_back(dense_[i]);
      }
      return sampled_;
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
    return sampled_;
  }

 private:
  std::vector<std::uint32_t> sampled_;
  std::vector<std::uint32_t> dense_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> moved_;
};

}  // namespace fulcrum
