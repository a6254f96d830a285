// The scheduler: a deterministic, sans-I/O state machine.
//
// Drivers feed it events (each carries `now`, which must not decrease) and drain the
// commands it emits. It owns the task table, the cluster state and the policy. It never
// reads a clock, a socket, a file or a global random source: the same events with the
// same seed produce the same commands, bit for bit.
//
// A decision runs in three stages: the queue discipline (core/queue_discipline.h) says
// which ready task is offered next, the cluster state which workers may take it
// (core/cluster.h: alive, not suspected, quarantined or draining, room under the queue
// cap), the policy which of them does (core/policy.h). The chosen worker's local FIFO
// gets it (a Dispatch command); a task no worker can take waits in the discipline's
// queue and is offered again whenever a worker frees room.
//
// The scheduler composes small parts, each with its own tests: the failure detector
// (core/failure_detector.h), retries with backoff (core/retry_backoff.h), quarantine
// (core/quarantine.h), recovery tracking (core/recovery_tracker.h) and the autoscaler
// with its load account (core/autoscaler.h, core/load_account.h). The parts decide; the
// scheduler applies their verdicts, and every task state change goes through set_state().
#pragma once

#include <map>
#include <memory>
#include <string>
#include <optional>
#include <string_view>
#include <vector>

#include "core/autoscaler.h"
#include "core/cluster.h"
#include "core/failure_detector.h"
#include "core/load_account.h"
#include "core/notice.h"
#include "core/policy.h"
#include "core/profile.h"
#include "core/quarantine.h"
#include "core/queue_discipline.h"
#include "core/random.h"
#include "core/recovery_tracker.h"
#include "core/retry_backoff.h"
#include "core/task.h"
#include "core/tenants.h"

namespace fulcrum {

struct Command {
  // kScaleOut: start `count` more workers (they join with on_worker_joined(..., booted)).
  // kScaleIn: `worker` drains (no new tasks; what it holds finishes); nothing to do yet.
  // kRetire: `worker` drained and left the core's service: stop it (power off, SIGTERM).
  enum class Kind : std::uint8_t { kDispatch, kCancel, kScaleOut, kScaleIn, kRetire };
  Kind kind;
  TaskId task;
  WorkerId worker;
  double flops;
  std::uint64_t epoch;
  std::uint32_t count = 0;  // kScaleOut
};

struct SchedulerConfig {
  std::uint64_t seed = 1;
  int queue_cap = -1;
  std::uint64_t epoch = 1;
  // A task whose attempt fails when it has been dispatched this many times fails for good.
  std::uint32_t max_attempts = 3;
  // Heartbeat failure detection: a worker silent for suspect_after is suspected (gets no
  // new tasks), for dead_after it is declared dead. 0 turns the detector off (drivers that
  // see disconnections report on_worker_left instead). Checked every detector_period.
  double suspect_after = 0;
  double dead_after = 0;
  double detector_period = 1;
  double retry_backoff = 0;    // a failed attempt waits backoff x 2^(failures - 1)
  double task_timeout = 0;     // a running attempt older than this fails (0: none)
  std::uint32_t quarantine_after = 0;  // failures within quarantine_window (0: never)
  double quarantine_window = 60;
  double quarantine_for = 60;
  std::uint64_t backlog_alert = 0;     // 0: never
  // The order of the central queue for DAG jobs: submission order, the critical path
  // below each task first (upward rank, the classic list-scheduling priority), or random.
  enum class Priority : std::uint8_t { kFifo, kCriticalPath, kRandom };
  Priority priority = Priority::kFifo;
  // The network as planners estimate it (upward ranks, HEFT): latency + bytes / bandwidth.
  double network_latency = 0;
  double network_bandwidth = 1.25e9;
  // The autoscaler (core/autoscaler.h); off by default.
  AutoscaleConfig autoscale;
  // The queue discipline: strict order (a task no worker can take now holds those behind
  // it) or skip-ahead (the first task, in order, that some worker can take goes).
  enum class Discipline : std::uint8_t { kStrict, kSkipAhead };
  Discipline discipline = Discipline::kStrict;
  // Backfilling (docs/backfilling.md): none (the queue discipline alone decides), EASY
  // (the first job that cannot start holds a reservation; a later one may start only if
  // it does not delay it) or conservative (every waiting job holds one, rebuilt at every
  // pass). Both scan the queue with OrderedScan; they need late binding (queue_cap 0).
  enum class Backfill : std::uint8_t { kNone, kEasy, kConservative };
  Backfill backfill = Backfill::kNone;
  // Queue order among equal priorities: arrival (false) or shortest estimate first (SJF:
  // estimate, then arrival, then id).
  bool shortest_first = false;
  // Estimates backfilling and SJF read: the submitter's (TaskSpec::estimate, falling back
  // to flops / speed when 0) or the exact ones (flops / speed).
  bool exact_estimates = false;
  // A driver that batches the events of one instant (completions, then arrivals) sets
  // this and calls on_instant_end(now) once after them: one placement pass per instant,
  // as the textbook rules of backfilling assume. Off: a pass follows every event.
  bool pass_per_instant = false;
  // Tenants (core/tenants.h, docs/fairness.md): those declared with their weights, quotas
  // and limits (a job of a tenant not declared gets weight 1 and no bounds). Fair sharing
  // replaces the queue discipline: DRF (dominant share / weight) or the simpler share of
  // running tasks / weight, each with priority classes first and owed quotas next
  // (core/fair_share.h). Limits hold under any discipline.
  std::vector<TenantSpec> tenants;
  enum class Fairness : std::uint8_t { kNone, kDrf, kRunningTasks };
  Fairness fairness = Fairness::kNone;
  // Preemption (fair sharing only): when a task of a higher priority class, or of a tenant
  // below its quota, finds no room, the core stops queued or running tasks of lower
  // classes or of tenants above their quotas on the worker where that loses least work.
  // A victim runs on for `grace` seconds (it may finish), then is cancelled and queued
  // again (`requeue`) or failed; a preemption does not use up one of its attempts.
  struct Preemption {
    bool enabled = false;
    double grace = 0;
    bool requeue = true;
  };
  Preemption preemption;
  // The workers the cluster is described with, beyond those that joined (a scenario's
  // standby hosts): a task is unschedulable when it fits none of these nor any worker
  // that joined. Empty in real mode, where only joined workers count.
  std::vector<WorkerSpec> described;
};

class Scheduler {
 public:
  // `queue`: the queue discipline (null: config.discipline's).
  Scheduler(const SchedulerConfig& config, std::unique_ptr<Policy> policy,
            std::unique_ptr<QueueDiscipline> queue = nullptr);

  // --- events ---
  // `claimed`: tasks the worker says it still runs (it reconnected after a scheduler
  // failover). A claimed task that is not finished and not placed elsewhere becomes the
  // worker's running task; any other claim gets a Cancel command back.
  // `booted`: the worker is one a kScaleOut started (it no longer counts as booting).
  WorkerId on_worker_joined(Time now, const WorkerSpec& spec, const std::vector<TaskId>& claimed = {},
                            bool booted = false);
  // `n` workers a kScaleOut asked for will not come (no standby host, crashed while booting).
  void on_scale_out_failed(Time now, std::uint32_t n);
  // The worker is gone: its queued and running tasks are queued again elsewhere.
  void on_worker_left(Time now, WorkerId w);
  // REQUIRES: the parents of each task come before it in spec.tasks.
  JobId on_job_submitted(Time now, const JobSpec& spec);
  void on_job_cancelled(Time now, JobId job);
  void on_task_started(Time now, TaskId task, WorkerId w);
  // `started_at` is when the worker started the task; a worker that did not report the
  // start separately reports it here. A report for a task no longer assigned to `w` (it
  // was moved or already finished) is ignored: completions are recorded exactly once.
  void on_task_finished(Time now, TaskId task, WorkerId w, Time started_at);
  // The attempt failed; the task is queued again, or fails for good when
  // failure_is_final(task). A report for a task no longer assigned to `w` is ignored.
  void on_task_failed(Time now, TaskId task, WorkerId w);
  // Why `job` cannot run here, or "" when every task fits some worker the cluster has or
  // is described with: the first task (index and name) and the dimension or label it
  // misses. Real mode refuses such a Submit; on_job_submitted fails those tasks at once
  // (kTaskUnschedulable). With no worker known yet, nothing is refused.
  std::string unschedulable(const JobSpec& job);
  // Whether `task` is queued or running on `w` now: only then does w's report of it count
  // (drivers journal a completion only if it will be recorded).
  bool holds(TaskId task, WorkerId w) const;
  // Whether a failure of `task`'s current attempt would be final (drivers journal it first).
  bool failure_is_final(TaskId task) const;
  // Any message from a worker proves it alive; this is the one that carries nothing else.
  void on_heartbeat(Time now, WorkerId w);
  void on_tick(Time now);
  // With pass_per_instant: the events of `now` are all in; places what can start.
  void on_instant_end(Time now);

  // --- recovery: rebuilding a scheduler from its journal ---
  // Replays a completion recorded before a crash (REQUIRES: the task was submitted and is
  // not terminal). Its children become ready as usual.
  void restore_finished(TaskId task, Time start, Time end, std::uint32_t attempts);
  void restore_failed(TaskId task, Time start, Time end, std::uint32_t attempts);
  // Replays the dispatches of a task and the start of its last attempt (a cancelled job
  // journals them). REQUIRES: the task is not terminal and is on no worker.
  void restore_attempts(TaskId task, std::uint32_t attempts, Time start);
  // Replays the plan an earlier leader made for `job` when it was submitted (priorities,
  // planned workers), in place of the one made again at replay (with no workers yet).
  void restore_plan(JobId job, const JobPlan& plan);
  // Holds every dispatch until now + grace, so that reconnecting workers can claim the
  // tasks they still run before anything is dispatched twice. next_wakeup() asks for a
  // tick at the end of the grace period.
  void begin_recovery(Time now, Time grace);
  bool recovering() const { return hold_until_ > last_now_; }

  // --- commands ---
  // Moves the commands emitted so far into `out` (which is cleared first).
  void take_commands(std::vector<Command>& out);
  // Moves the notices emitted so far into `out` (which is cleared first).
  void take_notices(std::vector<Notice>& out);
  // When the scheduler next wants on_tick, or kNever.
  Time next_wakeup() const;

  const TaskTable& table() const { return table_; }
  const ClusterState& cluster() const { return cluster_; }
  const Policy& policy() const { return *policy_; }
  // The plan made for the job submitted last (drivers journal it: core/durable.h).
  const JobPlan& last_plan() const { return last_plan_; }
  std::uint64_t tasks_unfinished() const { return unfinished_; }
  // Autoscaling: workers started and not joined yet; workers alive and not draining.
  std::uint32_t booting() const { return booting_; }
  std::uint32_t in_service() const { return load_.in_service(); }
  std::uint64_t tasks_retried() const { return retried_; }
  // Tasks failed at submission because they fit no worker (see unschedulable()).
  std::uint64_t tasks_unschedulable() const { return unschedulable_; }
  // Slot-seconds spent on attempts that did not complete (lost, failed, timed out,
  // preempted).
  double wasted_work() const { return wasted_; }
  std::uint64_t tasks_preempted() const { return preempted_; }
  const TenantLedger& tenants() const { return tenants_; }

 private:
  // The one place a task changes state: checks the transition is legal and keeps the
  // per-state facts (the end time and the counters of terminal tasks, the parts that
  // track a task) consistent with it.
  void set_state(Time now, TaskId t, TaskState to);
  void make_ready(Time now, TaskId t);
  void place_pending(Time now);
  void place_pending_tasks(Time now, bool instant_over = false);
  // One walk of the queue in the discipline's order, placing what can start.
  void place_in_order(Time now);
  // Places t (one task, or the whole gang it leads) on workers where each task fits;
  // false (and nothing placed) when some task finds no worker.
  bool place_unit(Time now, TaskId t);
  bool place_gang(Time now, const Job& job);
  // The gang's first task that has not ended: its queue entry stands for the gang.
  TaskId gang_leader(const Job& job) const;
  // Tenants: t's request enters (+1) or leaves (-1) its tenant's account.
  void account(TaskId t, int sign);
  // Whether the unit t leads stays within its tenant's limit if placed.
  bool within_limit(TaskId t);
  // Preemption (core/scheduler_preempt.cc): after a pass, room for the units it passed
  // over that are owed a quota or outrank running work; victims whose grace ended.
  // Returns whether it placed a unit (grace 0), so that the pass is worth running again.
  bool preempt_pass(Time now);
  bool make_room(Time now, TaskId t);
  void preempt(Time now, TaskId victim, WorkerId w);
  void end_graces(Time now);
  // Backfilling's pass (core/profile.h).
  void backfill_pass(Time now);
  void build_profile(Time now);
  // What the unit t leads asks for, pooled by dimension (appended to `out`), and its
  // estimated run time.
  void append_unit_need(TaskId t, std::vector<double>& out) const;
  double unit_estimate(TaskId t) const;
  // A waiting unit as a pass reads it. Each pass leaves the list of those it passed over,
  // in queue order (waiting_, their needs in waiting_needs_), and the next pass walks it
  // beside the queue: the entry at the front, t, takes the next record when that is t's,
  // or gets one worked out anew (a new entry); either way it is appended to waiting_next_
  // (and its need, returned, to waiting_needs_next_), and drop_waiting() takes it off
  // when the entry leaves the queue. A unit's facts never change, save when a dimension
  // appears or a faster worker joins: then the list starts over.
  struct Waiting {
    TaskId task;
    ShapeId shape;    // its first task's
    double estimate;  // unit_estimate
  };
  Profile::Amounts note_waiting(TaskId t, std::size_t& known);
  void drop_waiting();
  // Whether some worker has room now for a task of some shape.
  bool room_now() const;
  // t's run-time estimate on w (kNoWorker: the fastest worker known).
  double estimate_of(const Task& task, WorkerId w) const;
  // The bookkeeping of putting t on w (its queue, load, held resources), and its undoing.
  void occupy(TaskId t, WorkerId w);
  void dispatch(Time now, TaskId t, WorkerId w);
  // The rest of a dispatch once t occupies w: its state, attempt and the command.
  void send_dispatch(Time now, TaskId t, WorkerId w);
  // A gang member's attempt ended without a result: the other members still placed are
  // stopped, and the gang is queued again (or fails for good, with `final`).
  void stop_gang(Time now, JobId job, bool final);
  // Why a gang's tasks cannot all be placed at once on the workers known or described
  // ("" when they can, by pooled amounts).
  std::string gang_misfit(const JobSpec& job);
  // The capacity of the workers that joined and fit shape s (capacity and labels), pooled
  // as gang_misfit pools it, in id order; extended as workers join (their specs do not
  // change), so that a submission does not walk the whole cluster.
  const Resources& offered_to(ShapeId s);
  // Takes t off its worker's queue or running list. Returns false if it was not there.
  bool detach_from_worker(TaskId t, WorkerId w);
  // t lost its place (its worker died, its backoff ended): back to the central queue,
  // ahead of fresh work.
  void requeue(Time now, TaskId t);
  // The attempt of t on w ended without a result (w kept it no longer): retry or fail.
  void attempt_failed(Time now, TaskId t, WorkerId w);
  // Any message from w proves it alive. Returns whether that made a suspected w eligible
  // again: the caller places pending tasks once it has applied the message.
  bool heard_from(Time now, WorkerId w);
  void declare_dead(Time now, WorkerId w);
  void note_worker_failure(Time now, WorkerId w);
  void check_detector(Time now);
  void release_backoffs(Time now);
  void check_backlog(Time now);
  void notice(Time now, Notice::Kind kind, WorkerId w, TaskId t = 0, double value = 0);
  std::vector<double> priorities(const JobSpec& spec);
  void attach_running(Time now, TaskId t, WorkerId w);
  // Tasks with `spread`: the worker among the eligible that holds (or whose zone holds)
  // the fewest of the job's tasks, keeping `picked` when it is one of those.
  WorkerId spread_pick(const Task& task, WorkerId picked);
  std::string spread_key(const Task& task, WorkerId w) const;
  void count_spread(const Task& task, WorkerId w, int sign);
  // Why a task of shape s fits no worker known or described ("" when one fits).
  std::string misfit(ShapeId s) const;
  // w's load, liveness or eligibility changed: a drained w retires, the load account,
  // the eligible set and the policy follow.
  void worker_changed(WorkerId w);
  void retire_if_drained(WorkerId w);
  void autoscale(Time now);
  void observe_load(Time now);

  SchedulerConfig config_;
  std::unique_ptr<Policy> policy_;
  std::unique_ptr<QueueDiscipline> queue_;
  Rng rng_;
  TaskTable table_;
  ClusterState cluster_;
  FailureDetector detector_;
  RetryBackoff retry_;
  Quarantine quarantine_;
  RecoveryTracker recovery_;
  std::vector<Command> commands_;
  std::vector<Notice> notices_;
  std::uint64_t unfinished_ = 0;
  std::uint64_t retried_ = 0;
  std::uint64_t unschedulable_ = 0;
  double wasted_ = 0;
  Time last_now_ = 0;
  Time hold_until_ = -1;
  bool backlog_high_ = false;
  JobPlan last_plan_;
  Profile profile_;            // backfilling's, rebuilt at every pass
  TenantLedger tenants_;
  bool tenancy_ = false;       // tenants are accounted (fair sharing, limits or preemption)
  std::vector<TaskId> passed_over_;  // the units the last pass could not place, in order
  // Victims in their grace period: when it ends, and where they run.
  struct Grace {
    Time until;
    TaskId task;
    WorkerId worker;
  };
  std::vector<Grace> graces_;
  std::uint64_t preempted_ = 0;
  std::vector<double> need_;  // within_limit's
  // What backfill_pass keeps from pass to pass: the waiting units' facts (note_waiting),
  // worked out with facts_dims_ dimensions and facts_speed_ the fastest speed; the workers
  // known at the last pass that visited every entry; and buffers, so that a pass does not
  // allocate.
  std::vector<Waiting> waiting_, waiting_next_;
  std::vector<double> waiting_needs_, waiting_needs_next_;  // facts_dims_ values per unit
  std::size_t facts_dims_ = 0;
  double facts_speed_ = 0;
  std::size_t visited_workers_ = 0;
  std::vector<double> pooled_;              // build_profile's: free now
  std::vector<Profile::Release> releases_;  // build_profile's
  std::vector<double> extra_;               // EASY: left at the shadow time once the head has its share
  std::vector<std::pair<TaskId, WorkerId>> gang_placed_;  // place_gang's: the members placed so far
  struct Offer {
    std::size_t workers = 0;  // the workers looked at so far
    Resources offered;
  };
  std::vector<Offer> offers_;  // by shape (offered_to)
  double fastest_speed_ = 0;   // of the workers known or described, for estimates
  // Per job with spread tasks: how many of its tasks each host (or zone) holds now.
  std::map<JobId, std::map<std::string, std::uint32_t>> spread_counts_;
  // Autoscaling (null when off) and the load it sees.
  std::unique_ptr<Autoscaler> autoscaler_;
  LoadAccount load_;
  std::uint32_t booting_ = 0;
};

}  // namespace fulcrum
