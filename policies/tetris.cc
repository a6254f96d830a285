// tetris: the worker whose free resources are best aligned with the request (Grandl et
// al., "Multi-resource packing for cluster schedulers", SIGCOMM'14): the dot product of
// the request and the free vector, each dimension as a fraction of the worker's capacity.
// A CPU-heavy task goes where CPU is what is left, so dimensions fill together and less
// capacity is stranded.
#include "policies/builtin.h"
#include "policies/scorer.h"

namespace fulcrum {

PolicyResult make_tetris(const PolicySpec& spec) {
  if (std::string err = reject_unknown_params(spec, {}); !err.empty()) return Error{err};
  return PolicyResult(std::make_unique<Scorer>(
      "tetris", [](const ClusterState&, const Worker& w, const std::vector<double>& request) {
        double dot = 0;
        for (std::size_t d = 0; d < request.size(); ++d) {
          if (counted(w, d)) dot += request[d] / w.capacity[d] * (w.free[d] / w.capacity[d]);
        }
        return dot;
      }));
}

}  // namespace fulcrum
