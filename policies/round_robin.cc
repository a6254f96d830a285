// round_robin: cycles over worker ids in increasing order, skipping workers that are not
// eligible. A worker that joins takes its place in the cycle by id.
//
// The eligible ids are mirrored in a two-level bitset so that finding the next eligible id
// is O(1) when it is near (the common case) and O(n / 4096) when most workers are full,
// as under late binding; updates are O(1).
#include <bit>
#include <cstdint>
#include <vector>

#include "policies/builtin.h"
#include "policies/per_shape.h"

namespace fulcrum {
namespace {

class EligibleBits {
 public:
  static constexpr std::size_t kNone = ~std::size_t{0};

  void set(std::size_t i, bool on) {
    if (i / 64 >= words_.size()) {
      words_.resize(i / 64 + 1, 0);
      summary_.resize((words_.size() + 63) / 64, 0);
    }
    std::uint64_t& word = words_[i / 64];
    const std::uint64_t bit = std::uint64_t{1} << (i % 64);
    word = on ? (word | bit) : (word & ~bit);
    std::uint64_t& sum = summary_[i / 64 / 64];
    const std::uint64_t sum_bit = std::uint64_t{1} << (i / 64 % 64);
    sum = word != 0 ? (sum | sum_bit) : (sum & ~sum_bit);
  }

  // The smallest set index >= from, or kNone.
  std::size_t next(std::size_t from) const {
    std::size_t w = from / 64;
    if (w >= words_.size()) return kNone;
    if (const std::uint64_t m = words_[w] & (~std::uint64_t{0} << (from % 64))) return w * 64 + std::countr_zero(m);
    // Find the next non-empty word through the summary.
    ++w;
    for (std::size_t s = w / 64; s < summary_.size(); ++s) {
      std::uint64_t m = summary_[s];
      if (s == w / 64) m &= ~std::uint64_t{0} << (w % 64);
      if (m != 0) {
        const std::size_t word = s * 64 + std::countr_zero(m);
        return word * 64 + std::countr_zero(words_[word]);
      }
    }
    return kNone;
  }

 private:
  std::vector<std::uint64_t> words_;    // bit i: worker i is eligible
  std::vector<std::uint64_t> summary_;  // bit j: words_[j] != 0
};

// One shape's cycle.
class Cycle {
 public:
  std::optional<WorkerId> pick() {
    std::size_t w = bits_.next(next_);
    if (w == EligibleBits::kNone) w = bits_.next(0);
    if (w == EligibleBits::kNone) return std::nullopt;  // only if the REQUIRES was broken
    next_ = w + 1;
    return static_cast<WorkerId>(w);
  }
  void update(const ClusterState&, WorkerId w, bool eligible) { bits_.set(w, eligible); }

 private:
  EligibleBits bits_;
  std::size_t next_ = 0;  // the cycle resumes at the first eligible id >= next_
};

class RoundRobin final : public Policy {
 public:
  std::string name() const override { return "round_robin"; }
  std::optional<WorkerId> pick(const ClusterState& cluster, const Task&, Rng&) override {
    return shapes_.active(cluster).pick();
  }
  void on_worker_changed(const ClusterState& cluster, WorkerId w) override { shapes_.changed(cluster, w); }

 private:
  PerShape<Cycle> shapes_;
};

}  // namespace

PolicyResult make_round_robin(const PolicySpec& spec) {
  if (std::string err = reject_unknown_params(spec, {}); !err.empty()) return Error{err};
  return PolicyResult(std::make_unique<RoundRobin>());
}

}  // namespace fulcrum
