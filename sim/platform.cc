#include "sim/platform.h"

#include <simgrid/s4u.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>

namespace fulcrum::sim {
namespace sg4 = simgrid::s4u;

namespace {
constexpr const char* kSchedulerHostName = "fulcrum-scheduler";
constexpr double kSchedulerSpeed = 1e9;

// With `cluster.zones`: every host is in a child zone of the cluster's star (SimGrid's
// routing cannot resolve a route between a host of a netzone and a host of its parent, so
// no host sits beside the zones). Each declared zone is a star of its hosts, each with its
// own link, whose branch of the cluster's star is the zone's link; the scheduler is alone in
// a zone of its own with a branch of no link (its host link is its only one), and so are
// hosts of no declared zone, together.
template <class AddHost>
Platform build_zones(const ClusterSpec& cluster, sg4::NetZone* root, AddHost& add_host, Platform& p) {
  std::map<std::string, sg4::NetZone*> zones;
  std::vector<std::pair<sg4::NetZone*, sg4::Link*>> branches;  // in creation order
  auto child = [&](const std::string& name, sg4::Link* link) {
    // Named apart from hosts: zones, hosts and routers share SimGrid's namespace.
    sg4::NetZone* zone = sg4::create_star_zone(name)->set_parent(root);
    branches.emplace_back(zone, link);
    return zone;
  };
  for (const ZoneSpec& z : cluster.zones) {
    sg4::Link* link = root->create_link("zone:" + z.name + "_link", z.bandwidth)->set_latency(z.latency)->seal();
    zones[z.name] = child("zone:" + z.name, link);
  }
  sg4::Link* link = nullptr;
  p.scheduler = add_host(child(std::string(kSchedulerHostName) + "-zone", nullptr), kSchedulerHostName,
                         kSchedulerSpeed, 1, false, link);
  sg4::NetZone* unzoned = nullptr;
  p.specs = worker_specs(cluster);
  p.hosts.reserve(p.specs.size());
  for (const WorkerSpec& spec : p.specs) {
    auto it = zones.find(spec.zone);
    sg4::NetZone* zone = it != zones.end() ? it->second : unzoned ? unzoned : (unzoned = child("zone:", nullptr));
    p.hosts.push_back(add_host(zone, spec.name, spec.speed, spec.slots, true, link));
    p.links.push_back(link);
  }
  for (const auto& [zone, branch] : branches) {
    // The zone's end of its branch: a router at the centre of its star.
    simgrid::kernel::routing::NetPoint* gateway = zone->create_router(zone->get_name() + ":gateway");
    zone->seal();
    std::vector<sg4::LinkInRoute> links;
    if (branch != nullptr) links.emplace_back(branch);
    root->add_route(zone->get_netpoint(), nullptr, gateway, nullptr, links, true);
  }
  root->seal();
  return p;
}

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
      spec.zone = spec.group;  // what tasks' `require: {zone: ...}` and `spread: zone` see
      p.hosts.push_back(h);
      p.specs.push_back(std::move(spec));
    }
    if (p.scheduler == nullptr) {
      return Error{cluster.platform + ": cluster.scheduler_host '" + scheduler + "' is not a host of the platform"};
    }
    return p;
  }

  // A star: every host, the scheduler's included, has its own link to the centre, so a
  // message crosses two links (sender's and receiver's). With zones declared, each zone is
  // a star of its own hosts, and the zones and the scheduler are the branches of the
  // cluster's star: a zone's branch is its link (the zone's latency and bandwidth), so a
  // message between two zones crosses both zones' links, and one between the scheduler
  // and a zone that zone's link.
  // A host of `zone` with its own link to the zone's centre (returned in `link`).
  auto add_host_to = [&](sg4::NetZone* zone, const std::string& name, double speed, int cores, bool worker,
                         sg4::Link*& link) {
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
  auto* root = sg4::create_star_zone("cluster");
  if (!cluster.zones.empty()) return build_zones(cluster, root, add_host_to, p);
  // Without zones: every host in the cluster's star.
  sg4::Link* link = nullptr;
  p.scheduler = add_host_to(root, kSchedulerHostName, kSchedulerSpeed, 1, false, link);
  p.specs = worker_specs(cluster);
  p.hosts.reserve(p.specs.size());
  for (const WorkerSpec& spec : p.specs) {
    p.hosts.push_back(add_host_to(root, spec.name, spec.speed, spec.slots, true, link));
    p.links.push_back(link);
  }
  root->seal();
  return p;
}

}  // namespace fulcrum::sim
