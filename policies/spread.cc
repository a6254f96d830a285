// spread: the worker that would be the least allocated once the task is on it, averaged
// over its resource dimensions (Kubernetes' LeastAllocated): the opposite of binpack,
// evening out load and leaving every worker room to grow.
#include "policies/builtin.h"
#include "policies/scorer.h"

namespace fulcrum {

PolicyResult make_spread(const PolicySpec& spec) {
  if (std::string err = reject_unknown_params(spec, {}); !err.empty()) return Error{err};
  return PolicyResult(std::make_unique<Scorer>(
      "spread", [](const ClusterState&, const Worker& w, const std::vector<double>& request) {
        return -allocated_after(w, request);
      }));
}

}  // namespace fulcrum
