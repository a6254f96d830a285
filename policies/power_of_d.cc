// power_of_d: the power of d choices. Samples d distinct eligible workers uniformly and
// picks the one with the fewest tasks in its system (queued plus running), ties to the
// first sampled. With d >= the number of eligible workers it considers them all, in random
// order, which is JSQ with random tie-breaking. Parameter d: an integer >= 1, default 2.
//
// The sample (policies/sampler.h) comes in uniformly random order, so the tie-break is fair.
// Stateless between picks.
#include <algorithm>
#include <charconv>
#include <cstdint>

#include "policies/builtin.h"
#include "policies/sampler.h"

namespace fulcrum {
namespace {

class PowerOfD final : public Policy {
 public:
  explicit PowerOfD(std::uint32_t d) : d_(d) {}

  std::string name() const override { return "power_of_d:d=" + std::to_string(d_); }

  std::optional<WorkerId> pick(const ClusterState& cluster, const Task&, Rng& rng) override {
    const auto eligible = cluster.eligible();
    if (eligible.empty()) return std::nullopt;
    const auto& sampled = sampler_.sample(eligible.size(), std::min<std::size_t>(d_, eligible.size()), rng);
    WorkerId best = eligible[sampled.front()];
    for (const std::uint32_t i : sampled) {
      const WorkerId w = eligible[i];
      if (cluster.worker(w).in_system < cluster.worker(best).in_system) best = w;
    }
    return best;
  }

 private:
  std::uint32_t d_;
  DistinctSampler sampler_;
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
