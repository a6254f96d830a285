// binpack: the worker that would be the most allocated once the task is on it, averaged
// over its resource dimensions (Kubernetes' NodeResourcesFit with MostAllocated): fills a
// worker before opening another, leaving whole workers free for large requests.
#include "policies/builtin.h"
#include "policies/scorer.h"

namespace fulcrum {

PolicyResult make_binpack(const PolicySpec& spec) {
  if (std::string err = reject_unknown_params(spec, {}); !err.empty()) return Error{err};
  return PolicyResult(std::make_unique<Scorer>(
      "binpack", [](const ClusterState&, const Worker& w, const std::vector<double>& request) {
        return allocated_after(w, request);
      }));
}

}  // namespace fulcrum
