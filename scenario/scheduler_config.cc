#include "scenario/scheduler_config.h"

namespace fulcrum {

SchedulerConfig scheduler_config(const Scenario& scenario, std::size_t hosts) {
  const RecoverySpec& r = scenario.recovery;
  SchedulerConfig c;
  c.seed = scenario.seed;
  c.queue_cap = scenario.cluster.queue_cap;
  c.max_attempts = r.max_attempts;
  if (!scenario.faults.empty()) {
    c.suspect_after = r.suspect_after;
    c.dead_after = r.dead_after;
    c.detector_period = r.heartbeat_interval;
  }
  c.retry_backoff = r.retry_backoff;
  c.task_timeout = r.task_timeout;
  c.quarantine_after = r.quarantine_after;
  c.quarantine_window = r.quarantine_window;
  c.quarantine_for = r.quarantine_for;
  c.backlog_alert = r.backlog_alert;
  c.discipline = scenario.queue == "skip_ahead" ? SchedulerConfig::Discipline::kSkipAhead
                                                : SchedulerConfig::Discipline::kStrict;
  c.backfill = scenario.discipline.kind == "easy"           ? SchedulerConfig::Backfill::kEasy
               : scenario.discipline.kind == "conservative" ? SchedulerConfig::Backfill::kConservative
                                                            : SchedulerConfig::Backfill::kNone;
  // fcfs: strict order of jobs (gangs wait whole at the head); fifo keeps `queue`.
  if (scenario.discipline.kind != "fifo") c.discipline = SchedulerConfig::Discipline::kStrict;
  c.shortest_first = scenario.discipline.order == "sjf";
  c.exact_estimates = scenario.discipline.estimates == "exact";
  c.tenants = scenario.tenants;
  c.fairness = scenario.discipline.kind == "drf"    ? SchedulerConfig::Fairness::kDrf
               : scenario.discipline.kind == "fair" ? SchedulerConfig::Fairness::kRunningTasks
                                                    : SchedulerConfig::Fairness::kNone;
  c.preemption.enabled = scenario.preemption.enabled;
  c.preemption.grace = scenario.preemption.grace;
  c.preemption.requeue = scenario.preemption.victims == "requeue";
  c.priority = scenario.priority == "critical_path" ? SchedulerConfig::Priority::kCriticalPath
               : scenario.priority == "random"      ? SchedulerConfig::Priority::kRandom
                                                    : SchedulerConfig::Priority::kFifo;
  // A message between two workers crosses both their links.
  c.network_latency = 2 * scenario.cluster.network.latency;
  c.network_bandwidth = scenario.cluster.network.bandwidth;
  if (scenario.autoscale.enabled) {
    const AutoscaleSpec& a = scenario.autoscale;
    c.autoscale.enabled = true;
    c.autoscale.metric = a.metric == "backlog" ? AutoscaleConfig::Metric::kBacklog : AutoscaleConfig::Metric::kUtilisation;
    c.autoscale.target = a.target;
    c.autoscale.min_workers = a.min;
    c.autoscale.max_workers = a.max > 0 ? a.max : static_cast<std::uint32_t>(hosts);
    c.autoscale.period = a.period;
    c.autoscale.window = a.window;
    c.autoscale.scale_out_cooldown = a.cooldown_out;
    c.autoscale.scale_in_cooldown = a.cooldown_in;
    c.autoscale.tolerance = a.tolerance;
    c.autoscale.scale_in_after = a.scale_in_after;
  }
  return c;
}

SchedulerConfig scale_durations(SchedulerConfig c, double factor) {
  for (double* d : {&c.suspect_after, &c.dead_after, &c.detector_period, &c.retry_backoff, &c.task_timeout,
                    &c.preemption.grace, &c.quarantine_window, &c.quarantine_for, &c.network_latency, &c.autoscale.period,
                    &c.autoscale.window, &c.autoscale.scale_out_cooldown, &c.autoscale.scale_in_cooldown}) {
    *d *= factor;
  }
  c.network_bandwidth /= factor;  // bytes per scenario second -> per scaled second
  return c;
}

}  // namespace fulcrum
