// The scheduler daemon's /metrics: counters kept as events pass (dispatches, completions,
// notices), everything else read from the core's state when scraped.
#include <algorithm>
#include <map>
#include <string_view>

#include "real/scheduler_daemon.h"

namespace fulcrum::real {

namespace {

std::string_view worker_state(const Worker& w) {
  if (!w.alive) return w.draining ? "retired" : "dead";
  if (w.quarantined) return "quarantined";
  if (w.suspected) return "suspected";
  if (w.draining) return "draining";
  return "up";
}

constexpr std::string_view kWorkerStates[] = {"up", "suspected", "quarantined", "draining", "dead", "retired"};
constexpr TaskState kTaskStates[] = {TaskState::kBlocked, TaskState::kPending,  TaskState::kQueued,   TaskState::kRunning,
                                     TaskState::kFinished, TaskState::kFailed, TaskState::kCancelled,
                                     TaskState::kBackoff};

}  // namespace

void SchedulerDaemon::seed_metrics() {
  // What the journal restored counts as already done: totals go on across a failover.
  for (const Task& t : core_->table().tasks) {
    if (t.state == TaskState::kFinished) {
      ++stats_.finished;
      stats_.response.observe(t.end - t.submit);
    } else if (t.state == TaskState::kFailed) {
      ++stats_.failed;
    }
  }
}

void SchedulerDaemon::count_finished(TaskId t, bool was_finished) {
  const Task& task = core_->table().tasks[t];
  if (was_finished || task.state != TaskState::kFinished) return;  // a stale report, ignored
  ++stats_.finished;
  stats_.response.observe(task.end - task.submit);
}

std::string SchedulerDaemon::render_metrics() const {
  MetricsWriter m;
  m.gauge("fulcrum_scheduler_up", "1 while the scheduler daemon serves", 1);
  m.gauge("fulcrum_insecure", "1 when the scheduler accepts connections without authentication (no --cert, no --secret-file)",
          !options_.tls.enabled() && secret_.empty() ? 1 : 0);
  m.gauge("fulcrum_tls", "1 when every connection is mutual TLS (--cert)", tls_context_ ? 1 : 0);
  m.counter("fulcrum_refused_requests_total", "Requests refused: no or unknown certificate, revoked, not allowed to the role or tenant",
            static_cast<double>(refused_requests_));
  m.counter("fulcrum_access_reloads_total", "Reloads of the access file and CRL (SIGHUP or a change seen)",
            static_cast<double>(reloads_));
  m.gauge("fulcrum_epoch", "The leader epoch (each start on the journal takes the next one)", static_cast<double>(epoch_));
  m.counter("fulcrum_failovers_total", "Restarts of the scheduler on its journal (epoch - 1)",
            static_cast<double>(epoch_ > 0 ? epoch_ - 1 : 0));
  if (zk_journal_) {
    m.counter("fulcrum_journal_snapshots_total", "Snapshots of the ZooKeeper journal this leader wrote (each compacts it)",
              static_cast<double>(zk_journal_->snapshots_written()));
  }
  m.gauge("fulcrum_recovering", "1 while dispatches wait for reconnecting workers after a restart",
          core_->recovering() ? 1 : 0);

  // Workers: the latest incarnation of each name (a worker that re-registers gets a new id).
  const ClusterState& cluster = core_->cluster();
  std::map<std::string_view, WorkerId> latest;
  std::map<std::string_view, std::uint64_t> by_state;
  for (const Worker& w : cluster.workers()) latest[w.spec.name] = w.id;
  for (const auto& [name, id] : latest) ++by_state[worker_state(cluster.worker(id))];
  m.family("fulcrum_workers", MetricType::kGauge, "Workers by state (one per name, its latest registration)");
  for (std::string_view state : kWorkerStates) m.sample({{"state", state}}, static_cast<double>(by_state[state]));
  m.family("fulcrum_worker_state", MetricType::kGauge, "1 for each worker, labelled with its state");
  for (const auto& [name, id] : latest) m.sample({{"worker", name}, {"state", worker_state(cluster.worker(id))}}, 1);
  m.family("fulcrum_queue_length", MetricType::kGauge, "Tasks queued or running on each worker");
  for (const auto& [name, id] : latest) {
    const Worker& w = cluster.worker(id);
    m.sample({{"worker", name}}, w.alive ? static_cast<double>(w.in_system) : 0);
  }
  m.family("fulcrum_worker_slots", MetricType::kGauge, "Tasks each worker runs at once");
  for (const auto& [name, id] : latest) m.sample({{"worker", name}}, cluster.worker(id).spec.slots);
  m.gauge("fulcrum_workers_booting", "Workers the autoscaler started that have not registered yet", core_->booting());

  // Tasks.
  std::uint64_t by_task_state[std::size(kTaskStates)] = {};
  for (const Task& t : core_->table().tasks) ++by_task_state[static_cast<std::size_t>(t.state)];
  m.gauge("fulcrum_pending_tasks", "Tasks ready and waiting in the central queue (or a retry backoff)",
          static_cast<double>(by_task_state[static_cast<std::size_t>(TaskState::kPending)]));
  m.family("fulcrum_tasks", MetricType::kGauge, "Tasks by state");
  for (TaskState s : kTaskStates) m.sample({{"state", to_string(s)}}, static_cast<double>(by_task_state[static_cast<std::size_t>(s)]));
  m.counter("fulcrum_tasks_submitted_total", "Tasks accepted", static_cast<double>(core_->table().tasks.size()));
  m.counter("fulcrum_tasks_dispatched_total", "Dispatches sent to workers (retries included)",
            static_cast<double>(stats_.dispatched));
  m.counter("fulcrum_tasks_finished_total", "Tasks finished (exit 0), each counted once",
            static_cast<double>(stats_.finished));
  m.counter("fulcrum_tasks_failed_total", "Tasks failed for good", static_cast<double>(stats_.failed));
  m.counter("fulcrum_tasks_retried_total", "Failed or lost attempts queued again",
            static_cast<double>(core_->tasks_retried()));
  m.family("fulcrum_response_seconds", MetricType::kHistogram, "Response time of finished tasks: submit to end");
  m.histogram(stats_.response);

  // Notices and alerts.
  constexpr Notice::Kind kAlertKinds[] = {Notice::Kind::kWorkerDead, Notice::Kind::kWorkerQuarantined,
                                          Notice::Kind::kTaskFailed, Notice::Kind::kBacklogHigh};
  m.family("fulcrum_alerts_total", MetricType::kCounter, "Operator alerts raised, by kind");
  for (std::size_t k = 0; k < std::size(stats_.alerts); ++k) {
    const auto kind = static_cast<Notice::Kind>(k);
    const bool usual = std::find(std::begin(kAlertKinds), std::end(kAlertKinds), kind) != std::end(kAlertKinds);
    if (usual || stats_.alerts[k] > 0) m.sample({{"kind", to_string(kind)}}, static_cast<double>(stats_.alerts[k]));
  }
  m.family("fulcrum_notices_total", MetricType::kCounter, "Failure-detection, retry and autoscaling notices, by kind");
  for (std::size_t k = 0; k < std::size(stats_.notices); ++k) {
    const std::string_view name = to_string(static_cast<Notice::Kind>(k));
    if (name == "?") break;
    m.sample({{"kind", name}}, static_cast<double>(stats_.notices[k]));
  }
  return m.take();
}

}  // namespace fulcrum::real
