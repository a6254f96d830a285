#include "core/upward_rank.h"

#include <cassert>
#include <cmath>

namespace fulcrum {

namespace {

// Rounds to 40 significant bits: x = mantissa * 2^exponent with |mantissa| in [0.5, 1).
double round_to_40_bits(double x) {
  int exponent = 0;
  const double mantissa = std::frexp(x, &exponent);
  return std::ldexp(std::round(std::ldexp(mantissa, 40)), exponent - 40);
}

}  // namespace

std::vector<double> upward_rank(const std::vector<RankTask>& tasks, bool snap_ties) {
  std::vector<double> rank(tasks.size());
  // Children's ranks are final before their parents read them: go from the last task,
  // each pushing its (edge, rank) chain up to its parents.
  std::vector<double> below(tasks.size(), 0);
  for (std::size_t i = tasks.size(); i-- > 0;) {
    const RankTask& t = tasks[i];
    rank[i] = t.time + below[i];
    if (snap_ties) rank[i] = round_to_40_bits(rank[i]);
    for (std::size_t k = 0; k < t.parents.size(); ++k) {
      assert(t.parents[k] < i && "upward_rank: a parent must precede its child");
      below[t.parents[k]] = std::max(below[t.parents[k]], t.parent_comm[k] + rank[i]);
    }
  }
  return rank;
}

}  // namespace fulcrum
