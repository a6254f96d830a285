// learned: dispatches each task to the worker with the least predicted completion time,
// by the LoadPredictor of policies/learned.h. Parameters:
//   mode=online        learn the weights by RLS from a cold start (the default)
//   model=PATH         start from a model file's weights; they stay fixed unless mode=online
//   d=N                consider N sampled eligible workers (O(N) per decision); 0, the
//                      default, considers every eligible worker
//   forgetting=F       RLS forgetting factor in (0, 1], default 0.99
//   smoothing=S        weight of the newest observation in a worker's rate, default 0.3
// Ties go to the worker with fewer tasks in its system, then to the first considered. The
// policy reads only what the scheduler has in both modes (task sizes, loads, completion
// times, last-heard times, host groups): never a worker's configured speed.
#include <charconv>
#include <cmath>
#include <limits>

#include "policies/builtin.h"
#include "policies/learned.h"
#include "policies/sampler.h"

namespace fulcrum {
namespace {

class Learned final : public Policy {
 public:
  Learned(LoadPredictor predictor, std::uint32_t d, std::string name)
      : predictor_(std::move(predictor)), d_(d), name_(std::move(name)) {}

  std::string name() const override { return name_; }

  std::optional<WorkerId> pick(const ClusterState& cluster, const Task& task, Rng& rng) override {
    const auto eligible = cluster.eligible();
    if (eligible.empty()) return std::nullopt;
    WorkerId best = kNoWorker;
    double best_time = std::numeric_limits<double>::infinity();
    const auto consider = [&](WorkerId w) {
      const double t = predictor_.predict(cluster, w, task.flops);
      if (best == kNoWorker || t < best_time ||
          (t == best_time && cluster.worker(w).in_system < cluster.worker(best).in_system)) {
        best = w;
        best_time = t;
      }
    };
    if (d_ == 0 || d_ >= eligible.size()) {
      for (const WorkerId w : eligible) consider(w);
    } else {
      for (const std::uint32_t i : sampler_.sample(eligible.size(), d_, rng)) consider(eligible[i]);
    }
    predictor_.on_dispatch(cluster, best, task);
    return best;
  }

  void on_task_finished(const ClusterState& cluster, WorkerId w, const Task& task, Time now) override {
    predictor_.on_completion(cluster, w, task, now);
  }

 private:
  LoadPredictor predictor_;
  std::uint32_t d_;
  std::string name_;
  DistinctSampler sampler_;
};

Expected<double> number_param(const PolicySpec& spec, const char* key, double fallback, double lo, double hi) {
  const auto it = spec.params.find(key);
  if (it == spec.params.end()) return fallback;
  const std::string& text = it->second;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !(value > lo && value <= hi)) {
    return Error{"policy 'learned': " + std::string(key) + " must be a number in (" + std::to_string(lo) + ", " +
                 std::to_string(hi) + "], not '" + text + "'"};
  }
  return value;
}

}  // namespace

PolicyResult make_learned(const PolicySpec& spec) {
  if (std::string err = reject_unknown_params(spec, {"mode", "model", "d", "forgetting", "smoothing"}); !err.empty()) {
    return Error{err};
  }
  const auto mode = spec.params.find("mode");
  if (mode != spec.params.end() && mode->second != "online" && mode->second != "offline") {
    return Error{"policy 'learned': mode must be online or offline, not '" + mode->second + "'"};
  }
  const auto model_path = spec.params.find("model");
  if (mode != spec.params.end() && mode->second == "offline" && model_path == spec.params.end()) {
    return Error{"policy 'learned': mode=offline needs model=PATH (a model file from fulcrum.learned)"};
  }
  std::uint32_t d = 0;
  if (auto it = spec.params.find("d"); it != spec.params.end()) {
    const std::string& text = it->second;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return Error{"policy 'learned': d must be an integer >= 0, not '" + text + "'"};
    }
  }
  auto forgetting = number_param(spec, "forgetting", 0.99, 0, 1);
  if (!forgetting) return Error{forgetting.error()};
  auto smoothing = number_param(spec, "smoothing", 0.3, 0, 1);
  if (!smoothing) return Error{smoothing.error()};

  LoadPredictor::Options options;
  options.forgetting = *forgetting;
  options.rate_smoothing = *smoothing;
  const std::string sampled = d ? ",d=" + std::to_string(d) : "";
  if (model_path == spec.params.end()) {
    options.online = true;
    return PolicyResult(std::make_unique<Learned>(LoadPredictor(options), d, "learned:mode=online" + sampled));
  }
  // A model file is read once, when the policy is built (at the scenario boundary); the
  // scheduling itself never touches a file.
  auto model = load_learned_model(model_path->second);
  if (!model) return Error{"policy 'learned': " + model.error()};
  options.online = mode != spec.params.end() && mode->second == "online";
  const std::string name = "learned:model=" + model_path->second + (options.online ? ",mode=online" : "") + sampled;
  return PolicyResult(std::make_unique<Learned>(LoadPredictor(*model, options), d, name));
}

}  // namespace fulcrum
