#include "sim/driver.h"

#include <simgrid/s4u.hpp>
#include <xbt/log.h>

#include <memory>

#include "core/scheduler.h"
#include "core/workload.h"
#include "policies/registry.h"
#include "sim/platform.h"

namespace fulcrum::sim {
namespace sg4 = simgrid::s4u;

namespace {

// Size of a dispatch or completion message on the wire.
constexpr std::uint64_t kControlMessageBytes = 1024;
constexpr std::uint64_t kProgressEvery = 4096;

struct DispatchMessage {
  TaskId task;
  double flops;
};

struct DoneMessage {
  TaskId task;
  WorkerId worker;
  double started;
};

class Simulation {
 public:
  Simulation(const Scenario& scenario, std::unique_ptr<Policy> policy, Platform platform, ProgressFn progress)
      : scenario_(scenario),
        core_(SchedulerConfig{scenario.seed, scenario.cluster.queue_cap, /*epoch=*/1}, std::move(policy)),
        platform_(std::move(platform)),
        arrivals_(scenario.workload, scenario.seed),
        progress_(std::move(progress)) {}

  void start() {
    scheduler_mailbox_ = sg4::Mailbox::by_name("scheduler");
    for (std::size_t w = 0; w < platform_.hosts.size(); ++w) {
      const WorkerId id = core_.on_worker_joined(0, platform_.specs[w]);
      sg4::Mailbox* mailbox = sg4::Mailbox::by_name("worker-" + std::to_string(id));
      worker_mailboxes_.push_back(mailbox);
      for (int slot = 0; slot < platform_.specs[w].slots; ++slot) {
        sg4::ActorPtr executor = sg4::Actor::create("executor", platform_.hosts[w], [this, id] { executor_loop(id); });
        executor->daemonize();
        // Dispatches flow to the host as soon as they are sent (like TCP), not when a slot
        // asks for the next one; any executor of the host may then take them.
        if (slot == 0) mailbox->set_receiver(executor);
      }
    }
    sg4::ActorPtr loop = sg4::Actor::create("scheduler", platform_.scheduler, [this] { scheduler_loop(); });
    scheduler_mailbox_->set_receiver(loop);
    sg4::Actor::create("submitter", platform_.scheduler, [this] { submitter_loop(); });
  }

  RunRecords records() const { return collect_records(core_.table(), core_.cluster(), core_.tasks_retried()); }

 private:
  void submitter_loop() {
    Arrival arrival;
    while (arrivals_.next(arrival)) {
      sg4::this_actor::sleep_until(arrival.time);
      JobSpec job;
      job.tasks.push_back(TaskSpec{arrival.flops, {}});
      core_.on_job_submitted(sg4::Engine::get_clock(), job);
      apply_commands();
    }
    arrivals_done_ = true;
  }

  void scheduler_loop() {
    const std::uint64_t total = scenario_.workload.tasks;
    std::uint64_t finished = 0;
    while (!(arrivals_done_ && core_.tasks_unfinished() == 0)) {
      std::unique_ptr<DoneMessage> done(scheduler_mailbox_->get<DoneMessage>());
      core_.on_task_finished(sg4::Engine::get_clock(), done->task, done->worker, done->started);
      apply_commands();
      if (progress_ && ++finished % kProgressEvery == 0) progress_(finished, total);
    }
    if (progress_) progress_(total, total);
    scheduler_mailbox_->set_receiver(nullptr);
  }

  void executor_loop(WorkerId worker) {
    sg4::Mailbox* inbox = worker_mailboxes_[worker];
    for (;;) {
      std::unique_ptr<DispatchMessage> task(inbox->get<DispatchMessage>());
      const double started = sg4::Engine::get_clock();
      sg4::this_actor::execute(task->flops);
      scheduler_mailbox_->put_init(new DoneMessage{task->task, worker, started}, kControlMessageBytes)->detach();
    }
  }

  void apply_commands() {
    core_.take_commands(commands_);
    for (const Command& c : commands_) {
      if (c.kind == Command::Kind::kDispatch) {
        worker_mailboxes_[c.worker]->put_init(new DispatchMessage{c.task, c.flops}, kControlMessageBytes)->detach();
      }
      // Cancel needs no action yet: the simulated workload never cancels a job.
    }
  }

  const Scenario& scenario_;
  Scheduler core_;
  Platform platform_;
  ArrivalStream arrivals_;
  ProgressFn progress_;
  sg4::Mailbox* scheduler_mailbox_ = nullptr;
  std::vector<sg4::Mailbox*> worker_mailboxes_;
  std::vector<Command> commands_;
  bool arrivals_done_ = false;
};

}  // namespace

Expected<RunRecords> run_simulation_in_process(const Scenario& scenario, const ProgressFn& progress) {
  auto policy = make_policy(scenario.policy);
  if (!policy) return Error{scenario.source + ": policy: " + policy.error()};
  xbt_log_control_set("root.thres:critical");
  int argc = 1;
  char name[] = "fulcrum";
  char* argv[] = {name, nullptr};
  sg4::Engine engine(&argc, argv);
  auto platform = build_platform(scenario.cluster);
  if (!platform) return Error{platform.error()};
  if (platform->hosts.empty()) return Error{scenario.source + ": cluster: no worker hosts"};
  Simulation simulation(scenario, std::move(*policy), std::move(*platform), progress);
  simulation.start();
  engine.run();
  return simulation.records();
}

}  // namespace fulcrum::sim
