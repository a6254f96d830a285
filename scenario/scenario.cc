#include "scenario/scenario.h"

#include <charconv>
#include <cmath>
#include <system_error>

namespace fulcrum {

int Scenario::total_hosts() const {
  // The loader caps the total far below INT_MAX, so the sum cannot overflow.
  int total = 0;
  for (const HostGroup& g : cluster.groups) total += g.count;
  return total;
}

std::vector<std::string> Scenario::host_names() const {
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(total_hosts()));
  for (const HostGroup& g : cluster.groups) {
    for (int i = 0; i < g.count; ++i) names.push_back(host_name(g, i));
  }
  return names;
}

std::string host_name(const HostGroup& group, int index) {
  const std::string& base = group.name.empty() ? std::string("w") : group.name;
  if (group.count == 1) return base;
  return base + "-" + std::to_string(index);
}

std::vector<WorkerSpec> worker_specs(const ClusterSpec& cluster) {
  std::vector<WorkerSpec> specs;
  for (const HostGroup& g : cluster.groups) {
    for (int i = 0; i < g.count; ++i) {
      WorkerSpec w{host_name(g, i), g.name.empty() ? "w" : g.name, g.speed, g.slots, g.weight};
      w.resources = g.resources;
      w.labels = g.labels;
      w.zone = g.zone;
      specs.push_back(std::move(w));
    }
  }
  return specs;
}

std::vector<std::string> ClusterSpec::zone_names() const {
  std::vector<std::string> names;
  const auto add = [&](const std::string& name) {
    if (name.empty()) return;
    for (const std::string& n : names) {
      if (n == name) return;
    }
    names.push_back(name);
  };
  for (const ZoneSpec& z : zones) add(z.name);
  for (const HostGroup& g : groups) add(g.zone);
  return names;
}

Expected<double> parse_bytes(std::string_view text) {
  const std::string shown = "'" + std::string(text.substr(0, 40)) + (text.size() > 40 ? "...'" : "'");
  std::string_view rest = text;
  if (!rest.empty() && rest.front() == '+') rest.remove_prefix(1);
  double value = 0;
  const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
  if (ec == std::errc::result_out_of_range) return Error{shown + " is out of range"};
  if (ec != std::errc() || rest.empty() || rest.front() == '-' || !std::isfinite(value)) {
    return Error{shown + " is not a size (a number of bytes, or a number and a unit such as 512MiB, 4GiB, 4G)"};
  }
  std::string_view unit = rest.substr(static_cast<std::size_t>(ptr - rest.data()));
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  struct Unit {
    std::string_view name;
    double factor;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},           {"B", 1},
      {"k", 1e3},        {"K", 1e3},        {"kB", 1e3},   {"KB", 1e3},
      {"M", 1e6},        {"MB", 1e6},       {"G", 1e9},    {"GB", 1e9},
      {"T", 1e12},       {"TB", 1e12},      {"P", 1e15},   {"PB", 1e15},
      {"E", 1e18},       {"EB", 1e18},
      {"Ki", 0x1p10},    {"KiB", 0x1p10},   {"Mi", 0x1p20}, {"MiB", 0x1p20},
      {"Gi", 0x1p30},    {"GiB", 0x1p30},   {"Ti", 0x1p40}, {"TiB", 0x1p40},
      {"Pi", 0x1p50},    {"PiB", 0x1p50},   {"Ei", 0x1p60}, {"EiB", 0x1p60},
  };
  for (const Unit& u : kUnits) {
    if (u.name != unit) continue;
    const double bytes = std::ceil(value * u.factor);
    if (!std::isfinite(bytes)) return Error{shown + " is out of range"};
    return bytes;
  }
  return Error{shown + ": unknown unit '" + std::string(unit.substr(0, 20)) +
               "' (units: B, k, M, G, T, P, E = 10^3 ... 10^18, Ki, Mi, Gi, Ti, Pi, Ei = 2^10 ... 2^60, "
               "each optionally followed by B; case-sensitive)"};
}

TaskClassStream::TaskClassStream(std::vector<TaskClass> classes, std::uint64_t seed,
                                 std::optional<SizeDistribution> width)
    : classes_(std::move(classes)), rng_(seed, /*stream=*/4), width_(std::move(width)), width_rng_(seed, /*stream=*/5) {
  double sum = 0;
  for (const TaskClass& c : classes_) cumulative_.push_back(sum += c.share);
}

TaskSpec TaskClassStream::next(const Arrival& arrival) {
  TaskSpec t = synthetic_task(TaskKind::kBurn, arrival.flops);
  if (classes_.empty()) return t;
  // One draw picks the class (none when there is one), then its size and amounts in the
  // order of their names: the same seed gives the same tasks.
  std::size_t k = 0;
  if (classes_.size() > 1) {
    const double u = rng_.uniform01() * cumulative_.back();
    while (k + 1 < classes_.size() && u >= cumulative_[k]) ++k;
  }
  last_ = k;
  const TaskClass& c = classes_[k];
  if (c.size) t.flops = c.size->draw(rng_);
  for (const auto& [name, dist] : c.resources) {
    const double amount = dist.draw(rng_);
    if (name == "cores") {
      t.request.cores = amount;
    } else if (name == "memory") {
      t.request.memory = std::ceil(amount);
    } else if (name == "gpus") {
      t.request.gpus = amount;
    } else {
      t.request.other[name] = amount;
    }
  }
  t.require = c.require;
  t.spread = c.spread;
  return t;
}

JobSpec TaskClassStream::next_job(const Arrival& arrival) {
  JobSpec job;
  const TaskSpec task = next(arrival);
  const double drawn = width_ ? width_->draw(width_rng_) : 1;
  const auto width = static_cast<std::size_t>(std::max(1.0, std::round(drawn)));
  job.tasks.assign(width, task);
  job.gang = width > 1;
  if (!classes_.empty()) {
    job.tenant = classes_[last_].tenant;
    job.priority_class = classes_[last_].priority_class;
  }
  return job;
}

}  // namespace fulcrum
