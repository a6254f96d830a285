// random: a worker drawn uniformly from the eligible ones; stateless, O(1).
#include "policies/builtin.h"

namespace fulcrum {
namespace {

class Random final : public Policy {
 public:
  std::string name() const override { return "random"; }

  std::optional<WorkerId> pick(const ClusterState& cluster, const Task&, Rng& rng) override {
    const auto eligible = cluster.eligible();
    if (eligible.empty()) return std::nullopt;
    return eligible[rng.uniform_int(eligible.size())];
  }
};

}  // namespace

PolicyResult make_random(const PolicySpec& spec) {
  if (std::string err = reject_unknown_params(spec, {}); !err.empty()) return Error{err};
  return PolicyResult(std::make_unique<Random>());
}

}  // namespace fulcrum
