// One run of a scenario on a SimGrid-modelled cluster: the Simulation class, which owns the
// core Scheduler and the SimGrid actors that feed it. Internal to sim/: callers use
// run_simulation_in_process() (sim/driver.h) or simulate() (sim/isolated.h).
//
// The simulator makes no scheduling decision. It turns SimGrid's world into the core's
// events (a submission, a message from a host, a tick, a fault) and the core's commands into
// actions (a dispatch message, a cancel, a boot, a retirement). Same scenario and seed give
// the same records bit for bit, so the order in which actors touch the core is part of the
// contract: a change that moves a simcall, or an event before or after one, changes runs
// and the golden summaries in examples/.
//
// Lifetime: construct once the engine exists and the platform is built; call start() once,
// then run the engine, then records() once (it moves the events and jobs out). Everything in
// between runs inside actors of the one engine. Actors are cooperative and run one at a
// time, but every simcall (a mailbox put or get, a sleep, a host turned off, an execution
// waited on) lets others run: whatever was read before one may have changed after it.
//
// The member functions live in one file per concern:
//   sim/simulation.cc  configuration: hosts from the platform, checks, the first actors
//   sim/leader.cc      the scheduler host: submissions, the scheduler loop, commands, ticks
//   sim/failover.cc    a leader's death and its successor's replay of the journal
//   sim/host_model.cc  a worker host's life: actors, registration, heartbeats, boot, retire
//   sim/executors.cc   a host's executors: its local queue, cancels, input data, execution
//   sim/faults.cc      the fault timeline applied to hosts and links
//   sim/records.cc     events.csv entries, and the RunRecords at the end
#pragma once

#include <simgrid/s4u.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/durable.h"
#include "core/local_queue.h"
#include "core/scheduler.h"
#include "model/arrivals.h"
#include "model/faults.h"
#include "sim/driver.h"
#include "sim/platform.h"
#include "workload/jobs.h"

namespace fulcrum::sim {
namespace sg4 = simgrid::s4u;

// Size of a control message (dispatch, completion, heartbeat) on the wire.
constexpr std::uint64_t kControlMessageBytes = 1024;
// The progress callback is called once per this many completions.
constexpr std::uint64_t kProgressEvery = 4096;

// The distinct slowdown factors of a scenario, in order of first appearance: host pstate
// i + 1 runs at speed / factors[i] (the platform is built with them, the faults select them).
std::vector<double> slowdown_factors(const Scenario& scenario);

// Leader -> host: run a task.
struct DispatchMessage {
  TaskId task;
  double flops;
  WorkerId worker;      // the incarnation it was sent to
  std::uint64_t epoch;  // the leader that sent it
  std::uint64_t seq;    // dispatches in the order they were sent (a cancel names those before it)
};

// Host -> leader; kStop is the leader telling its own loop that the run is over, kPass
// the submitter asking it for the placement pass of this instant (batch_instants_).
struct WorkerMessage {
  // kTimedOut: the attempt ran out its task's time limit and the host killed it.
  enum class Kind : std::uint8_t { kHeartbeat, kStarted, kDone, kTimedOut, kStop, kPass } kind;
  std::uint32_t host;
  WorkerId worker;
  TaskId task = 0;
  double started = 0;
};

// What the simulator knows of a host beside the core: its SimGrid objects, its current
// incarnation in the core, and what its executors are doing (the worker's own memory,
// which survives a leader failover but not a crash).
//
// Its executors (sim/executors.cc) follow the worker's one rule, LocalQueue
// (core/local_queue.h): a dispatch the host accepts waits in `queue`, in FIFO order, and
// starts as soon as its whole request fits what the running tasks leave free.
struct HostState {
  sg4::Host* host = nullptr;
  sg4::Link* link = nullptr;  // group form only
  double base_latency = 0;
  WorkerSpec spec;
  sg4::Mailbox* inbox = nullptr;  // where its dispatches go
  WorkerId current = kNoWorker;
  std::uint64_t registered_epoch = 0;  // the leader it is registered with (0: none)
  std::vector<sg4::ActorPtr> actors;
  std::set<TaskId> running;
  std::map<TaskId, double> unreported;  // finished while no leader listened: task -> start
  bool up = true;          // not crashed
  bool standby = false;    // powered off until a scale-out boots it (autoscaling)
  bool booting = false;    // powered on, its worker not started yet
  bool powered = true;     // for host_seconds: on since on_since
  double on_since = 0;
  double on_seconds = 0;   // powered-on time before on_since
  bool paused = false;
  bool cut = false;  // its link is down: what it sends is lost, so it keeps results
  // A pause freezes the host like SIGSTOP: running executions are suspended and no new
  // task starts until the pause ends. (Suspending the actors themselves would leave an
  // executor blocked in a receive unable to take messages after the resume.)
  std::map<TaskId, sg4::ExecPtr> execs;
  // Cancels that arrived before their task started computing (still in the mailbox, or
  // waiting for its inputs): task -> the last dispatch sent before the cancel. The
  // executor drops a dispatch of the task sent no later; one sent after (a retry) runs.
  std::map<TaskId, std::uint64_t> cancelled;
  sg4::MutexPtr mutex = sg4::Mutex::create();
  sg4::ConditionVariablePtr resumed = sg4::ConditionVariable::create();
  // The local queue, by dispatch (its entries are dispatch sequence numbers, unique even
  // when a task comes back to this host), and the dispatches in it that wait for room.
  LocalQueue queue{Resources{}};
  std::map<std::uint64_t, DispatchMessage> waiting;
  std::uint32_t receivers = 0;  // executors waiting for a dispatch in the inbox

  // host_seconds counts powered-on time: a boot or recovery starts a span, a crash or a
  // retirement ends it. Both are idempotent.
  void power_on(double t) {
    if (powered) return;
    powered = true;
    on_since = t;
  }
  void power_off(double t) {
    if (!powered) return;
    powered = false;
    on_seconds += t - on_since;
  }
  // The host went down (crash or retirement): what its incarnation held is gone.
  void forget_incarnation() {
    queue = LocalQueue(spec.capacity());
    waiting.clear();
    receivers = 0;
    running.clear();
    cancelled.clear();
    execs.clear();
    unreported.clear();
    registered_epoch = 0;
    actors.clear();
  }
};

class Simulation {
 public:
  Simulation(const Scenario& scenario, Platform platform, TraceJobs jobs, ProgressFn progress);

  // Checks the scenario against the platform (fault targets, autoscale bounds), elects the
  // first leader, registers the initial workers and creates the submitter (and the fault
  // injector). An Error leaves nothing worth running.
  Expected<bool> start();

  // After the engine ran: the records of the run and its summary.
  RunRecords records();

  // After the engine ran: why the run was stopped early ("" when it was not): a host was
  // dispatched a task whose request does not fit its capacity, which the core's
  // feasibility must have prevented.
  const std::string& error() const { return error_; }
  // Whether the scheduler's loop ended as a run ends (every task done, or no host can come
  // back), rather than SimGrid running out of events first.
  bool scheduler_done() const { return scheduler_done_; }
  std::uint64_t tasks_unfinished() const { return core_->tasks_unfinished(); }

 private:
  static double now() { return sg4::Engine::get_clock(); }

  // simulation.cc
  SchedulerConfig config() const;

  // failover.cc
  void new_leader(double t);
  void kill_leader(double t);

  // host_model.cc
  void spawn_worker_actors(std::uint32_t h);
  void register_host(double t, std::uint32_t h, bool booted = false);
  void heartbeat_loop(std::uint32_t h);
  void send(std::uint32_t h, const WorkerMessage& m);
  void boot(std::uint32_t n);
  void retire(std::uint32_t h);

  // leader.cc
  void submitter_loop();
  void submit(const std::string& name, const JobSpec& job, double critical_path);
  void scheduler_loop();
  void finished(double t, TaskId task, WorkerId w, double started);
  void stop_scheduler();
  // `pass`: with batch_instants_, run the placement pass of this instant first (false
  // while more events of the instant may come).
  void apply(bool pass = true);
  // Applies one message from a host to the core; false for kStop.
  bool handle(const WorkerMessage& m);
  void rearm_ticker();

  // executors.cc
  void executor_loop(std::uint32_t h, bool stays, std::vector<DispatchMessage> started);
  void spawn_executor(std::uint32_t h, std::vector<DispatchMessage> started);
  bool wants_receiver(const HostState& host) const;
  bool admit(std::uint32_t h, const DispatchMessage& d, std::vector<DispatchMessage>& started);
  void start_waiting(HostState& host, std::vector<DispatchMessage>& started);
  void start_waiting_now(std::uint32_t h);
  void drop_waiting(std::uint32_t h);
  void run_task(std::uint32_t h, const DispatchMessage& d);
  const Resources& request_of(TaskId t) const {
    return t < request_of_task_.size() ? requests_[request_of_task_[t]] : requests_[0];
  }
  void note_request(TaskId t, const Resources& request);
  void cancel(std::uint32_t h, TaskId task);
  void receive_inputs(std::uint32_t h, TaskId t);
  std::uint32_t host_of_task(TaskId t) const;
  double flops_on(std::uint32_t h, TaskId t, double flops) const;

  // faults.cc
  void fault_loop();
  void check_stuck();

  // records.cc
  void on_notice(const Notice& n);
  void event(double t, std::string kind, std::string host, std::string detail, bool alert = false);

  const Scenario& scenario_;
  Platform platform_;
  TraceJobs trace_;  // a file workload's jobs, by submit time, and their requests (else empty)
  ArrivalStream arrivals_;
  ProgressFn progress_;
  // What the run pays for (set once in the constructor, see sim/simulation.cc).
  const bool with_faults_;    // heartbeats, running sets, the fault injector
  const bool report_starts_;  // kStarted messages
  const bool track_execs_;    // execution handles, for pauses and cancels
  std::uint64_t dispatch_seq_ = 0;
  const bool keep_journal_;   // journal_, for a leader failover
  std::unique_ptr<Scheduler> core_;
  std::uint64_t epoch_ = 0;
  bool leader_up_ = false;
  std::vector<JournalRecord> journal_;  // the durable records, as a real leader's journal
  DurableState durable_;
  std::vector<HostState> hosts_;
  std::vector<std::uint32_t> host_of_;  // WorkerId of the current core -> host index
  std::map<std::string, std::uint32_t> host_index_;
  double fastest_speed_ = 0;
  std::vector<WorkerSpec> host_specs_;
  std::vector<TaskSpec> task_specs_;  // per TaskId, parents as absolute ids
  // Each task's request, as an index into requests_ (whose first is the default, one
  // core); filled only once a task asks for something else.
  std::vector<Resources> requests_{Resources{.cores = 1}};
  std::vector<std::uint32_t> request_of_task_;
  std::map<std::tuple<double, double, double, std::map<std::string, double>>, std::uint32_t> request_index_;
  bool zero_core_requests_ = false;  // some task asks for no core: it may start on a full host
  std::vector<TaskId> started_ids_;  // scratch for LocalQueue::start_ready
  TaskClassStream classes_;          // synthetic workloads: each arrival's class
  std::string error_;
  std::vector<JobRecord> jobs_;
  sg4::Mailbox* scheduler_mailbox_ = nullptr;
  sg4::ActorPtr scheduler_actor_;
  sg4::ActorPtr ticker_;
  Time ticker_target_ = kNever;
  std::unique_ptr<FaultTimeline> timeline_;
  std::vector<EventRecord> events_;
  bool arrivals_done_ = false;
  // Backfilling's rules assume one placement pass per instant, after its completions and
  // arrivals (docs/backfilling.md): the scheduler loop applies every message that is
  // ready, then the pass; the submitter asks for it with a kPass message.
  bool batch_instants_ = false;
  bool pass_requested_ = false;
  bool stop_sent_ = false;
  bool scheduler_done_ = false;
  std::uint64_t progress_count_ = 0;
  std::uint64_t retried_before_ = 0;
  double wasted_before_ = 0;
};

}  // namespace fulcrum::sim
