#include "sim/platform.h"

#include <simgrid/s4u.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace fulcrum::sim {
namespace sg4 = simgrid::s4u;

namespace {
constexpr const char* kSchedulerHostName = "fulcrum-scheduler";
constexpr double kSchedulerSpeed = 1e9;
}  // namespace

Expected<Platform> build_platform(const ClusterSpec& cluster, const std::vector<double>& slowdowns,
                                  const PowerSpec* power) {
  Platform p;
  auto* engine = sg4::Engine::get_instance();
  if (!cluster.platform.empty()) {
    try {
      engine->load_platform(cluster.platform);
    } catch (const std::exception& e) {
      return Error{cluster.platform + ": cannot load SimGrid platform: " + e.what()};
    }
    std::vector<sg4::Host*> all = engine->get_all_hosts();
    // Sort by name: the order must not depend on SimGrid's container choices.
    std::sort(all.begin(), all.end(), [](const sg4::Host* a, const sg4::Host* b) { return a->get_name() < b->get_name(); });
    if (all.size() < 2) return Error{cluster.platform + ": a platform needs at least two hosts (a scheduler and a worker)"};
    const std::string scheduler = cluster.scheduler_host.empty() ? all.front()->get_name() : cluster.scheduler_host;
    for (sg4::Host* h : all) {
      if (h->get_name() == scheduler) {
        p.scheduler = h;
        continue;
      }
      WorkerSpec spec;
      spec.name = h->get_name();
      spec.group = h->get_englobing_zone()->get_name();
      spec.speed = h->get_speed();
      spec.slots = h->get_core_count();
      p.hosts.push_back(h);
      p.specs.push_back(std::move(spec));
    }
    if (p.scheduler == nullptr) {
      return Error{cluster.platform + ": cluster.scheduler_host '" + scheduler + "' is not a host of the platform"};
    }
    return p;
  }

  // A star: every host, the scheduler's included, has its own link to the centre, so a
  // message crosses two links (sender's and receiver's).
  auto* zone = sg4::create_star_zone("cluster");
  sg4::Link* link = nullptr;
  auto add_host = [&](const std::string& name, double speed, int cores, bool worker = true) {
    std::vector<double> pstates{speed};
    for (double factor : slowdowns) pstates.push_back(speed / factor);
    sg4::Host* host = zone->create_host(name, pstates)->set_core_count(cores);
    if (power != nullptr) {
      // Read by the energy plugin when the host is sealed. The scheduler host draws nothing.
      const std::string range = worker ? fmt::format("{}:{}", power->idle, power->busy) : "0:0";
      std::string per_state = range;
      for (std::size_t i = 0; i < slowdowns.size(); ++i) per_state += "," + range;
      host->set_property("wattage_per_state", per_state);
      host->set_property("wattage_off", worker ? fmt::format("{}", power->off) : "0");
    }
    host->seal();
    link = zone->create_link(name + "_link", cluster.network.bandwidth)->set_latency(cluster.network.latency)->seal();
    zone->add_route(host->get_netpoint(), nullptr, nullptr, nullptr, {sg4::LinkInRoute(link)}, true);
    return host;
  };
  p.scheduler = add_host(kSchedulerHostName, kSchedulerSpeed, 1, false);
  p.specs = worker_specs(cluster);
  p.hosts.reserve(p.specs.size());
  for (const WorkerSpec& spec : p.specs) {
    p.hosts.push_back(add_host(spec.name, spec.speed, spec.slots));
    p.links.push_back(link);
  }
  zone->seal();
  return p;
}

}  // namespace fulcrum::sim
