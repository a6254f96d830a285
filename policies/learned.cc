#include "policies/learned.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

namespace fulcrum {
namespace {

constexpr std::size_t kBase = kLearnedFeatures.size();
constexpr double kPriorRate = 1e9;
constexpr double kMaxStaleness = 60;
// RLS starts from P = kPriorVariance * I and keeps P's diagonal below it, so a long quiet
// stretch under forgetting cannot wind the gain up without bound.
constexpr double kPriorVariance = 100;

double work_of(double flops) { return flops > 0 ? flops : 1.0; }

LoadPredictor::Options with_smoothing(LoadPredictor::Options options, double smoothing) {
  options.rate_smoothing = smoothing;
  return options;
}

}  // namespace

void learned_features(double flops, double rate, double outstanding_flops, int slots, std::uint32_t in_system,
                      double staleness, int group, std::size_t group_count, double* x) {
  const double per_slot = rate * std::max(slots, 1);
  x[0] = 1;
  x[1] = work_of(flops) / rate;
  x[2] = outstanding_flops / per_slot;
  x[3] = std::max(0.0, static_cast<double>(in_system) + 1 - slots) / std::max(slots, 1);
  x[4] = std::clamp(staleness, 0.0, kMaxStaleness);
  for (std::size_t g = 0; g < group_count; ++g) x[kBase + g] = static_cast<int>(g) == group ? 1 : 0;
}

void RateTracker::observe(WorkerId w, double flops, double seconds) {
  if (!(seconds > 0)) return;  // a zero-length run says nothing about speed
  const double observed = work_of(flops) / seconds;
  if (rates_.size() <= w) rates_.resize(w + 1, 0);
  rates_[w] = rates_[w] > 0 ? (1 - smoothing_) * rates_[w] + smoothing_ * observed : observed;
  mean_ = mean_ > 0 ? (1 - smoothing_) * mean_ + smoothing_ * observed : observed;
}

double RateTracker::rate(WorkerId w) const {
  if (w < rates_.size() && rates_[w] > 0) return rates_[w];
  return mean_ > 0 ? mean_ : kPriorRate;
}

// ------------------------------------------------------------------------------ model files

Expected<LearnedModel> parse_learned_model(const std::string& text, const std::string& source) {
  const auto fail = [&](const std::string& field, const std::string& why) {
    return Error{source + ": " + field + ": " + why};
  };
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Error{source + ": not valid JSON"};
  if (!doc.is_object()) return Error{source + ": a model file is a JSON object"};
  if (!doc.contains("format") || doc["format"] != kLearnedModelFormat) {
    return fail("format", "expected \"" + std::string(kLearnedModelFormat) + "\"");
  }
  if (!doc.contains("version") || !doc["version"].is_number_integer()) return fail("version", "missing or not an integer");
  if (doc["version"].get<int>() != kLearnedModelVersion) {
    return fail("version", std::to_string(doc["version"].get<int>()) + " is not supported (this fulcrum reads version " +
                               std::to_string(kLearnedModelVersion) + ")");
  }
  const auto& features = doc.value("features", nlohmann::json());
  std::vector<std::string> expected(kLearnedFeatures.begin(), kLearnedFeatures.end());
  if (!features.is_array() || features.size() != expected.size() ||
      !std::equal(expected.begin(), expected.end(), features.begin(),
                  [](const std::string& a, const nlohmann::json& b) { return b.is_string() && b == a; })) {
    std::string names;
    for (const auto& f : expected) names += (names.empty() ? "" : ", ") + f;
    return fail("features", "must be [" + names + "] (the features this fulcrum computes)");
  }
  LearnedModel model;
  const auto& groups = doc.value("groups", nlohmann::json::array());
  if (!groups.is_array()) return fail("groups", "must be a list of host group names");
  for (const auto& g : groups) {
    if (!g.is_string()) return fail("groups", "must be a list of host group names");
    model.groups.push_back(g.get<std::string>());
  }
  if (std::set<std::string>(model.groups.begin(), model.groups.end()).size() != model.groups.size()) {
    return fail("groups", "names a group twice");
  }
  const auto& weights = doc.value("weights", nlohmann::json());
  if (!weights.is_array() || weights.size() != expected.size() + model.groups.size()) {
    return fail("weights", "must be a list of " + std::to_string(expected.size() + model.groups.size()) +
                               " numbers (one per feature, then one per group)");
  }
  for (const auto& w : weights) {
    if (!w.is_number() || !std::isfinite(w.get<double>())) return fail("weights", "must be finite numbers");
    model.weights.push_back(w.get<double>());
  }
  if (doc.contains("rate_smoothing")) {
    const auto& r = doc["rate_smoothing"];
    if (!r.is_number() || !(r.get<double>() > 0 && r.get<double>() <= 1)) return fail("rate_smoothing", "must be in (0, 1]");
    model.rate_smoothing = r.get<double>();
  }
  return model;
}

Expected<LearnedModel> load_learned_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{path + ": cannot read the model file"};
  std::stringstream text;
  text << in.rdbuf();
  return parse_learned_model(text.str(), path);
}

// ---------------------------------------------------------------------------- LoadPredictor

LoadPredictor::LoadPredictor(const Options& options)
    : options_(options), theta_(Eigen::VectorXd::Zero(kBase)), rates_(options.rate_smoothing) {
  theta_[1] = 1;  // the physical prior: own run time plus the work ahead, per slot
  theta_[2] = 1;
  p_ = Eigen::MatrixXd::Identity(kBase, kBase) * kPriorVariance;
}

LoadPredictor::LoadPredictor(const LearnedModel& model, Options options)
    : options_(with_smoothing(options, model.rate_smoothing)),
      groups_(model.groups),
      theta_(Eigen::Map<const Eigen::VectorXd>(model.weights.data(), static_cast<Eigen::Index>(model.weights.size()))),
      rates_(model.rate_smoothing) {
  p_ = Eigen::MatrixXd::Identity(theta_.size(), theta_.size()) * kPriorVariance;
}

int LoadPredictor::group_of(const ClusterState& cluster, WorkerId w) const {
  if (groups_.empty()) return -1;
  if (group_of_.size() <= w) group_of_.resize(cluster.size(), -2);
  if (group_of_[w] == -2) {
    const auto it = std::find(groups_.begin(), groups_.end(), cluster.worker(w).spec.group);
    group_of_[w] = it == groups_.end() ? -1 : static_cast<int>(it - groups_.begin());
  }
  return group_of_[w];
}

double LoadPredictor::rate(WorkerId w) const { return rates_.rate(w); }

void LoadPredictor::features(const ClusterState& cluster, WorkerId w, double flops, Eigen::VectorXd& x) const {
  const Worker& worker = cluster.worker(w);
  x.resize(theta_.size());
  learned_features(flops, rates_.rate(w), worker.outstanding_flops, worker.spec.slots, worker.in_system,
                   cluster.now() - worker.last_heard, group_of(cluster, w), groups_.size(), x.data());
}

double LoadPredictor::predict(const ClusterState& cluster, WorkerId w, double flops) const {
  features(cluster, w, flops, scratch_);
  return theta_.dot(scratch_);
}

void LoadPredictor::on_dispatch(const ClusterState& cluster, WorkerId w, const Task& task) {
  Pending& p = pending_[task.id];
  p.worker = w;
  features(cluster, w, task.flops, p.x);
}

void LoadPredictor::on_completion(const ClusterState&, WorkerId w, const Task& task, Time now) {
  if (task.start >= 0) rates_.observe(w, task.flops, now - task.start);
  const auto it = pending_.find(task.id);
  if (it == pending_.end()) return;
  const bool same_attempt = it->second.worker == w && task.dispatched >= 0;
  if (options_.online && same_attempt) {
    // Recursive least squares with exponential forgetting.
    const Eigen::VectorXd& x = it->second.x;
    const double y = now - task.dispatched;
    const Eigen::VectorXd px = p_ * x;
    const double denominator = options_.forgetting + x.dot(px);
    if (denominator > 0 && std::isfinite(y)) {
      const Eigen::VectorXd gain = px / denominator;
      theta_ += gain * (y - theta_.dot(x));
      p_ = (p_ - gain * px.transpose()) / options_.forgetting;
      p_ = 0.5 * (p_ + p_.transpose());  // keep it symmetric against rounding
      const double largest = p_.diagonal().maxCoeff();
      if (largest > kPriorVariance) p_ *= kPriorVariance / largest;
      // More work ahead never makes a task finish sooner: projecting the load weights onto
      // >= 0 keeps a burst of odd samples (heavy-tailed sizes) from turning the policy
      // into "pick the busiest worker".
      for (int i = 1; i <= 2; ++i) theta_[i] = std::max(theta_[i], 0.0);
    }
  }
  pending_.erase(it);
}

// ------------------------------------------------------------------------------ training set

TrainingSet training_set(const std::vector<TaskRecord>& tasks, const std::vector<WorkerRecord>& workers,
                         double rate_smoothing) {
  TrainingSet out;
  std::set<std::string> group_names;
  for (const WorkerRecord& w : workers) group_names.insert(w.group);
  out.groups.assign(group_names.begin(), group_names.end());
  std::vector<int> group(workers.size());
  for (std::size_t w = 0; w < workers.size(); ++w) {
    group[w] = static_cast<int>(std::find(out.groups.begin(), out.groups.end(), workers[w].group) - out.groups.begin());
  }

  // The run's history as events, replayed in the order the scheduler saw them: at equal
  // times a completion is handled before the dispatches it makes room for.
  enum Kind { kFinish = 0, kStart = 1, kDispatch = 2 };
  std::vector<std::tuple<Time, int, std::size_t>> events;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const TaskRecord& t = tasks[i];
    if (t.worker >= workers.size() || t.dispatched < 0) continue;
    events.emplace_back(t.dispatched, kDispatch, i);
    if (t.start >= 0) events.emplace_back(t.start, kStart, i);
    if (t.state == TaskState::kFinished && t.end >= 0) events.emplace_back(t.end, kFinish, i);
  }
  std::sort(events.begin(), events.end());

  struct Load {
    double outstanding = 0;
    std::uint32_t in_system = 0;
    Time last_heard = 0;
  };
  std::vector<Load> load(workers.size());
  RateTracker rates(rate_smoothing);
  std::vector<std::vector<double>> features_at_dispatch(tasks.size());
  const std::size_t width = kBase + out.groups.size();
  for (const auto& [time, kind, i] : events) {
    const TaskRecord& t = tasks[i];
    Load& l = load[t.worker];
    switch (kind) {
      case kDispatch: {
        std::vector<double>& x = features_at_dispatch[i];
        x.resize(width);
        learned_features(t.flops, rates.rate(t.worker), l.outstanding, workers[t.worker].slots, l.in_system,
                         time - l.last_heard, group[t.worker], out.groups.size(), x.data());
        l.outstanding += t.flops;
        ++l.in_system;
        break;
      }
      case kStart:
        l.last_heard = time;
        break;
      case kFinish:
        l.last_heard = time;
        rates.observe(t.worker, t.flops, t.end - t.start);
        l.outstanding = l.in_system > 1 ? l.outstanding - t.flops : 0;
        l.in_system = l.in_system > 0 ? l.in_system - 1 : 0;
        out.features.push_back(std::move(features_at_dispatch[i]));
        out.target.push_back(t.end - t.dispatched);
        break;
    }
  }
  return out;
}

}  // namespace fulcrum
