// Leader failover: a leader_kill fault stops the scheduler, and after the election delay a
// new leader replays the durable records into a fresh core, as a restarted real scheduler
// daemon replays its journal (core/durable.h: the same records, the same replay function).
//
// The simulator keeps its "journal" in memory (journal_), and only when the scenario can
// kill a leader (keep_journal_): JobAccepted and the plan at submission (leader.cc),
// TaskFinished when the core records a completion (leader.cc), TaskFailed on a notice
// (records.cc). Hosts are not reset: like real workers they keep running what they have and
// re-register with the new epoch on their next heartbeat, claiming it (host_model.cc).
// Dispatches of the deposed leader carry its epoch and executors refuse them.
//
// Counters the core keeps per incarnation (retries, wasted work) are carried over by hand,
// since the summary is for the whole run.
#include "sim/simulation.h"

#include <fmt/format.h>

#include "policies/registry.h"

namespace fulcrum::sim {

// A leader takes office: a fresh core (the same code path as a restarted real
// scheduler: replay of the durable records, then a grace period for claims).
void Simulation::new_leader(double t) {
  ++epoch_;
  if (core_) {
    retried_before_ += core_->tasks_retried();
    wasted_before_ += core_->wasted_work();
  }
  auto policy = make_policy(scenario_.policy);
  core_ = std::make_unique<Scheduler>(config(), std::move(*policy));
  durable_ = DurableState{};
  for (const JournalRecord& record : journal_) replay_record(*core_, record, durable_);
  std::vector<Notice> ignored;
  core_->take_notices(ignored);
  std::vector<Command> none;  // replay dispatches nothing: no worker has registered yet
  core_->take_commands(none);
  host_of_.clear();
  if (!journal_.empty()) core_->begin_recovery(t, scenario_.recovery.reconcile_grace);
  scheduler_mailbox_ = sg4::Mailbox::by_name("scheduler-" + std::to_string(epoch_));
  scheduler_actor_ = sg4::Actor::create("scheduler", platform_.scheduler, [this] { scheduler_loop(); });
  scheduler_mailbox_->set_receiver(scheduler_actor_);
  leader_up_ = true;
  if (epoch_ > 1) event(t, "leader_elected", "", "epoch " + std::to_string(epoch_) + ", replayed " +
                                                      std::to_string(journal_.size()) + " records");
  rearm_ticker();
}

void Simulation::kill_leader(double t) {
  if (!leader_up_) return;
  event(t, "leader_kill", "", fmt::format("epoch {} stops; election takes {:g} s", epoch_,
                                          scenario_.recovery.election_delay), true);
  leader_up_ = false;
  if (ticker_) ticker_->kill();
  ticker_ = nullptr;
  ticker_target_ = kNever;
  scheduler_mailbox_->set_receiver(nullptr);
  // The election runs in an actor of its own that is not a daemon: with the scheduler
  // gone and arrivals over, it is what keeps the simulation going until a standby leads.
  sg4::Actor::create("election", platform_.scheduler, [this] {
    sg4::this_actor::sleep_for(scenario_.recovery.election_delay);
    new_leader(now());
  });
  scheduler_actor_->kill();
}

}  // namespace fulcrum::sim
