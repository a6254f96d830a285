// Fault injection: the scenario's fault timeline (model/faults.h, drawn from the seed, the
// same in real mode) applied to SimGrid's hosts and links at its times.
//
// A zone outage (`{kind: zone_outage, zone, at, duration, mode}`) arrives here as what the
// scenario loader made of it: a crash with a recovery after the duration (mode crash), or
// a cut of each host's link for the duration (mode partition), of every host of the zone;
// its events.csv entries name the zone.
//
// A fault changes the world, not the core: the core learns of it as a real scheduler
// would, from what stops arriving (heartbeats, reports) or what arrives again (a
// registration). The one direct call is a host crashing while it boots, reported as a
// failed scale-out, as a cloud provider would report it. Each fault event is written to
// events.csv when it happens, so that detection times can be measured against it.
//
// SimGrid fixes host speeds when the platform is sealed, so a slowdown selects one of the
// extra power states the platform was built with (slowdown_factors()); it needs host
// groups, as link faults do (they need a host's own link). A leader kill is handed to
// failover.cc.
#include "sim/simulation.h"

#include <algorithm>

namespace fulcrum::sim {

namespace {

// The events.csv kind of a fault event: a link fault says whether it cuts or degrades.
std::string event_kind(const FaultEvent& e) {
  if (e.kind == FaultEvent::Kind::kLinkStart) return e.cut ? "link_cut" : "link_degraded";
  if (e.kind == FaultEvent::Kind::kLinkEnd) return "link_restored";
  return to_string(e.kind);
}

// The events.csv detail of a fault event: the fault the scenario wrote and its line (a
// zone outage reaches the timeline as a crash or a cut link of each of the zone's hosts).
std::string fault_detail(const FaultSpec& f) {
  const std::string line = ", line " + std::to_string(f.line);
  if (!f.zone.empty()) {
    return "zone_outage of zone " + f.zone + " (" + (f.kind == FaultSpec::Kind::kLink ? "partition" : "crash") + ")" + line;
  }
  return to_string(f.kind) + " fault" + line;
}

}  // namespace

std::vector<double> slowdown_factors(const Scenario& scenario) {
  std::vector<double> factors;
  for (const FaultSpec& f : scenario.faults) {
    if (f.kind == FaultSpec::Kind::kSlowdown && std::find(factors.begin(), factors.end(), f.factor) == factors.end()) {
      factors.push_back(f.factor);
    }
  }
  return factors;
}

void Simulation::fault_loop() {
  FaultEvent e;
  while (timeline_->next(e)) {
    sg4::this_actor::sleep_until(e.time);
    const double t = now();
    if (e.kind == FaultEvent::Kind::kLeaderKill) {
      kill_leader(t);
      continue;
    }
    HostState& host = hosts_[e.host];
    const std::string& name = host.spec.name;
    event(t, event_kind(e), name, fault_detail(scenario_.faults[e.fault]));
    switch (e.kind) {
      case FaultEvent::Kind::kCrash:
        if (!host.up || host.standby) break;  // a standby host is off already
        if (host.booting) {
          host.booting = false;
          if (leader_up_) core_->on_scale_out_failed(t, 1);
        }
        host.power_off(t);
        // Dispatches sent to it until it is declared dead wait in its mailbox, unmatched;
        // its next incarnation refuses them (they name this one). The simcalls come
        // first: other actors run during them, and must still see the host as it was.
        host.inbox->set_receiver(nullptr);
        host.host->turn_off();  // kills its actors and their executions
        host.up = false;
        host.paused = false;
        host.forget_incarnation();
        break;
      case FaultEvent::Kind::kRecover:
        if (host.up) break;
        host.host->turn_on();
        host.power_on(t);
        host.up = true;
        spawn_worker_actors(e.host);
        break;
      case FaultEvent::Kind::kSlowStart: {
        const auto& factors = slowdown_factors(scenario_);
        host.host->set_pstate(1 + (std::find(factors.begin(), factors.end(), e.factor) - factors.begin()));
        break;
      }
      case FaultEvent::Kind::kSlowEnd:
        host.host->set_pstate(0);
        break;
      case FaultEvent::Kind::kLinkStart:
        if (e.cut) {
          host.link->turn_off();
          host.cut = true;
        } else {
          host.link->set_latency(host.base_latency * e.factor);
        }
        break;
      case FaultEvent::Kind::kLinkEnd:
        if (e.cut) {
          host.link->turn_on();
          host.cut = false;
          // Like a TCP connection that broke: the worker reconnects and registers anew,
          // claiming what it runs and reporting what finished meanwhile; messages lost
          // in the cut are made good by that reconciliation.
          if (host.up && leader_up_) register_host(now(), e.host);
        } else {
          host.link->set_latency(host.base_latency);
        }
        break;
      case FaultEvent::Kind::kPauseStart:
        if (!host.up || host.paused) break;
        host.paused = true;
        for (auto& [task, exec] : host.execs) exec->suspend();
        break;
      case FaultEvent::Kind::kPauseEnd:
        if (!host.paused) break;
        host.paused = false;
        for (auto& [task, exec] : host.execs) exec->resume();
        host.resumed->notify_all();
        break;
      case FaultEvent::Kind::kLeaderKill:
        break;
    }
  }
  check_stuck();
}

// Tasks can never finish when every host is down for good: end the run rather than wait
// forever; what is unfinished is then reported as lost.
void Simulation::check_stuck() {
  if (!with_faults_ || !timeline_->empty() || !arrivals_done_) return;
  for (const HostState& h : hosts_) {
    if (h.up) return;
  }
  stop_scheduler();
}

}  // namespace fulcrum::sim
