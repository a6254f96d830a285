// Builds the SimGrid platform of a scenario: either a star of the scenario's host groups
// around a scheduler host, or a platform XML file whose first host (or
// `cluster.scheduler_host`) runs the scheduler and whose other hosts are the workers.
// With `cluster.zones`, each zone is a SimGrid netzone of its hosts joined to the others
// by its own link (the zone's latency and bandwidth): a transfer between two zones crosses
// both zones' links. A platform file's zones are used as they are: a host's zone (and its
// group) is the name of the netzone that holds it.
//
// REQUIRES: a simgrid::s4u::Engine exists in this process and no platform is loaded yet.
#pragma once

#include <string>
#include <vector>

#include "core/cluster.h"
#include "core/expected.h"
#include "scenario/scenario.h"

namespace simgrid::s4u { class Host; class Link; }

namespace fulcrum::sim {

struct Platform {
  simgrid::s4u::Host* scheduler = nullptr;
  std::vector<simgrid::s4u::Host*> hosts;  // the workers, in WorkerId order
  std::vector<WorkerSpec> specs;           // same order
  std::vector<simgrid::s4u::Link*> links;  // each host's own link (group form only), same order
};

// `slowdowns`: the factors slowdown faults will apply; each group-form host gets one extra
// power state per factor (speed / factor), since SimGrid fixes a host's speeds when the
// platform is sealed. Host pstate i + 1 is slowdowns[i].
// `power`: when given, each group-form worker host gets the energy plugin's properties
// (wattage_per_state idle:busy for every pstate, wattage_off); the plugin must be
// initialised before. A platform file carries its own properties.
Expected<Platform> build_platform(const ClusterSpec& cluster, const std::vector<double>& slowdowns = {},
                                  const PowerSpec* power = nullptr);

}  // namespace fulcrum::sim
