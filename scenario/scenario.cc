#include "scenario/scenario.h"

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
      specs.push_back(WorkerSpec{host_name(g, i), g.name.empty() ? "w" : g.name, g.speed, g.slots, g.weight});
    }
  }
  return specs;
}

}  // namespace fulcrum
