// A worker host's life as the leader sees it: its actors come up, it registers (and
// re-registers) with the current leader, it sends heartbeats and reports, and autoscaling
// boots it from standby or retires it to standby.
//
// A host is one WorkerSpec through many incarnations: every registration is a new WorkerId
// in the current core (host_of_ maps it back), so that anything addressed to an old
// incarnation (a dispatch, a report) is recognisably stale. A registration claims what the
// host still runs and hands over results that nobody heard, which is how a crash of the
// leader, a cut link or a false death verdict is reconciled: as a reconnecting TCP worker
// does in real mode. Crashes and recoveries are faults (faults.cc); this file is the
// ordinary path.
#include "sim/simulation.h"

#include <fmt/format.h>

namespace fulcrum::sim {

// One executor per core (sim/executors.cc; more come when several tasks start at once), and
// a heartbeat actor under faults: the core's failure detector runs only then
// (scenario/scheduler_config.cc), so without faults heartbeats would be traffic nobody reads.
void Simulation::spawn_worker_actors(std::uint32_t h) {
  HostState& state = hosts_[h];
  state.actors.clear();
  for (int slot = 0; slot < state.spec.slots; ++slot) {
    sg4::ActorPtr executor =
        sg4::Actor::create("executor", state.host, [this, h] { executor_loop(h, /*stays=*/true, {}); });
    executor->daemonize();
    // Dispatches flow to the host as soon as they are sent (like TCP), not when an
    // executor asks for the next one; any executor of the host may then take them.
    if (slot == 0) state.inbox->set_receiver(executor);
    state.actors.push_back(executor);
  }
  if (with_faults_) {
    sg4::ActorPtr beat = sg4::Actor::create("heartbeat", state.host, [this, h] { heartbeat_loop(h); });
    beat->daemonize();
    state.actors.push_back(beat);
  }
}

// The host (re)registers with the current leader, claiming what it still runs and what
// finished while nobody listened.
void Simulation::register_host(double t, std::uint32_t h, bool booted) {
  HostState& state = hosts_[h];
  if (state.current != kNoWorker && state.registered_epoch == epoch_) core_->on_worker_left(t, state.current);
  std::vector<TaskId> claimed(state.running.begin(), state.running.end());
  for (const auto& [task, started] : state.unreported) claimed.push_back(task);
  state.current = core_->on_worker_joined(t, state.spec, claimed, booted);
  if (host_of_.size() <= state.current) host_of_.resize(state.current + 1, kNoWorker);
  host_of_[state.current] = h;
  state.registered_epoch = epoch_;
  drop_waiting(h);  // sent to its past incarnation: the core moved those tasks
  if (t > 0) event(t, "worker_registered", state.spec.name, fmt::format("claims {} tasks", claimed.size()));
  const auto unreported = std::move(state.unreported);
  state.unreported.clear();
  for (const auto& [task, started] : unreported) finished(t, task, state.current, started);
  apply();
}

void Simulation::heartbeat_loop(std::uint32_t h) {
  HostState& host = hosts_[h];
  for (;;) {
    if (leader_up_ && !host.cut && !host.paused) {
      if (host.registered_epoch != epoch_) {
        register_host(now(), h);  // what a Register message to the new leader does
      } else {
        send(h, WorkerMessage{WorkerMessage::Kind::kHeartbeat, h, host.current});
      }
    }
    sg4::this_actor::sleep_for(scenario_.recovery.heartbeat_interval);
  }
}

// A message to the current leader over the modelled network. Detached: the sender goes on
// at once, and a message lost to a crash or a cut is simply lost.
void Simulation::send(std::uint32_t h, const WorkerMessage& m) {
  (void)h;
  scheduler_mailbox_->put_init(new WorkerMessage(m), kControlMessageBytes)->detach();
}

// Scale-out: powers on `n` standby hosts (the first ones in host order); each worker joins
// after the boot delay. Hosts that are not there are reported back to the core.
void Simulation::boot(std::uint32_t n) {
  const double t = now();
  std::uint32_t started = 0;
  for (std::uint32_t h = 0; h < hosts_.size() && started < n; ++h) {
    HostState& host = hosts_[h];
    if (!host.standby || !host.up) continue;
    ++started;
    host.standby = false;
    host.booting = true;
    host.host->turn_on();
    host.power_on(t);
    event(t, "boot", host.spec.name, fmt::format("joins after {:g} s", scenario_.autoscale.boot_delay));
    sg4::Actor::create("boot", platform_.scheduler, [this, h] {
      sg4::this_actor::sleep_for(scenario_.autoscale.boot_delay);
      HostState& booted = hosts_[h];
      if (!booted.booting) return;  // crashed meanwhile (the core was told)
      booted.booting = false;
      spawn_worker_actors(h);
      if (leader_up_) register_host(now(), h, /*booted=*/true);
    })->daemonize();
  }
  if (started < n) core_->on_scale_out_failed(t, n - started);
}

// Scale-in: the worker drained; its host powers off and is standby again.
void Simulation::retire(std::uint32_t h) {
  HostState& host = hosts_[h];
  if (!host.up || host.standby) return;
  host.inbox->set_receiver(nullptr);
  host.host->turn_off();
  host.power_off(now());
  host.standby = true;
  host.forget_incarnation();
}

}  // namespace fulcrum::sim
