// first_fit: the lowest-numbered worker where the task's whole request fits now
// (policies/scorer.h). The simplest packing: it fills workers in id order.
#include "policies/builtin.h"
#include "policies/scorer.h"

namespace fulcrum {

PolicyResult make_first_fit(const PolicySpec& spec) {
  if (std::string err = reject_unknown_params(spec, {}); !err.empty()) return Error{err};
  // Every fitting worker scores the same: the tie-break (lowest id) decides.
  return PolicyResult(std::make_unique<Scorer>("first_fit", [](const ClusterState&, const Worker&,
                                                               const std::vector<double>&) { return 0.0; }));
}

}  // namespace fulcrum
