// jsq: join the shortest queue. The eligible worker with the fewest tasks in its system
// (queued plus running); ties are broken uniformly at random, so equal workers share the
// load instead of the lowest ids taking it all.
//
// Eligible workers sit in buckets by in_system, each a dense vector with a position index,
// so removal is a swap and the tie-break is one draw. The lowest non-empty bucket is
// found lazily by climbing from a lower bound; the bound only falls when a worker enters
// below it, by one level per task finished, so picks are O(1) amortised (a worker that
// comes back empty costs one climb over the levels it skipped).
#include <vector>

#include "policies/builtin.h"
#include "policies/per_shape.h"

namespace fulcrum {
namespace {

// The buckets of one shape's eligible workers.
class Buckets {
 public:
  std::optional<WorkerId> pick(Rng& rng) {
    if (count_ == 0) return std::nullopt;
    while (buckets_[min_].empty()) ++min_;
    const std::vector<WorkerId>& tied = buckets_[min_];
    return tied[rng.uniform_int(tied.size())];
  }

  void update(const ClusterState& cluster, WorkerId w, bool eligible) {
    if (w >= level_.size()) {
      level_.resize(w + 1, kAbsent);
      pos_.resize(w + 1, 0);
    }
    const std::uint32_t level = eligible ? cluster.worker(w).in_system : kAbsent;
    if (level == level_[w]) return;
    if (level_[w] != kAbsent) remove(w);
    if (level != kAbsent) insert(w, level);
  }

 private:
  static constexpr std::uint32_t kAbsent = ~0u;

  void insert(WorkerId w, std::uint32_t level) {
    if (level >= buckets_.size()) buckets_.resize(level + 1);
    level_[w] = level;
    pos_[w] = static_cast<std::uint32_t>(buckets_[level].size());
    buckets_[level].push_back(w);
    if (count_++ == 0 || level < min_) min_ = level;
  }

  void remove(WorkerId w) {
    std::vector<WorkerId>& bucket = buckets_[level_[w]];
    const WorkerId last = bucket.back();
    bucket[pos_[w]] = last;
    pos_[last] = pos_[w];
    bucket.pop_back();
    level_[w] = kAbsent;
    --count_;
  }

  std::vector<std::vector<WorkerId>> buckets_;  // buckets_[k]: eligible workers with in_system k
  std::vector<std::uint32_t> level_;            // by worker id; kAbsent if not in a bucket
  std::vector<std::uint32_t> pos_;              // by worker id; index in its bucket
  std::size_t count_ = 0;                       // workers in buckets
  std::uint32_t min_ = 0;                       // no bucket below min_ is non-empty
};

class Jsq final : public Policy {
 public:
  std::string name() const override { return "jsq"; }
  std::optional<WorkerId> pick(const ClusterState& cluster, const Task&, Rng& rng) override {
    return shapes_.active(cluster).pick(rng);
  }
  void on_worker_changed(const ClusterState& cluster, WorkerId w) override { shapes_.changed(cluster, w); }

 private:
  PerShape<Buckets> shapes_;
};

}  // namespace

PolicyResult make_jsq(const PolicySpec& spec) {
  if (std::string err = reject_unknown_params(spec, {}); !err.empty()) return Error{err};
  return PolicyResult(std::make_unique<Jsq>());
}

}  // namespace fulcrum
