// A run's metrics: the summary computed from its records (core/records.h), the figures
// every results table, comparison and plot reads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/records.h"

namespace fulcrum {

struct Summary {
  std::uint64_t tasks_submitted = 0;
  std::uint64_t tasks_completed = 0;
  std::uint64_t tasks_failed = 0;
  std::uint64_t tasks_cancelled = 0;
  std::uint64_t tasks_lost = 0;     // accepted but neither finished, failed nor cancelled
  std::uint64_t tasks_retried = 0;
  std::uint64_t tasks_unschedulable = 0;  // failed at submission: fit no host (among tasks_failed)
  std::uint64_t tasks_preempted = 0;      // preemptions (a task preempted twice counts twice)
  double makespan = 0;              // last end - first submit
  double throughput = 0;            // completed / makespan
  double response_mean = 0;         // end - submit, over completed tasks
  double response_p50 = 0;
  double response_p95 = 0;
  double response_p99 = 0;
  double wait_mean = 0;             // start - submit
  double slowdown_mean = 0;         // response / (end - start)
  double utilisation_mean = 0;
  double utilisation_cv = 0;        // coefficient of variation of worker utilisation
  // Resources (see resource_utilisation() and fragmentation() below).
  double utilisation_cores = 0;     // fraction of all cores the finished tasks held
  double utilisation_memory = 0;    // of the memory of hosts that limit it
  double utilisation_gpus = 0;
  double fragmentation = 0;         // fraction of core-time free but stranded while tasks waited
  // Faults (0 when the run had none).
  std::uint64_t faults_injected = 0;
  std::uint64_t alerts = 0;
  double detection_latency_mean = 0;  // a crash or pause until its worker was declared dead
  double recovery_time_mean = 0;      // a crash until all the work its worker held was done
  double wasted_work = 0;             // slot-seconds of attempts that did not complete
  // Jobs (a job of independent tasks counts as one; synthetic workloads: one per task).
  double jobs_makespan_mean = 0;      // end - submit
  double jobs_slowdown_mean = 0;      // makespan / critical-path lower bound
  double jobs_wait_mean = 0;          // first start - submit, over jobs that ran to the end
  double jobs_bounded_slowdown_mean = 0;  // max(makespan / max(run time, 10 s), 1), the same jobs
  // Jain's index over the backlogged tenants' dominant share / weight, averaged over the
  // time two or more were backlogged (results/tenants.h): 1 when each got its weighted
  // share; 1 when tenants never competed.
  double jain_fairness = 1;
  double data_moved = 0;              // bytes sent along DAG edges between different hosts
  // Capacity used: the sum over hosts of their powered-on time (booting included) until the
  // run ended, and, in simulation with a power model, the energy the hosts consumed.
  double host_seconds = 0;
  double energy_joules = 0;
};

// The field list (see core/job_spec.h): summary.json's keys in order, the tables' and
// Python's metric names. A count is an integer field, written as an integer in JSON.
template <class V> void fields(V& v, Summary& s) {
  v.field("tasks_submitted", s.tasks_submitted);
  v.field("tasks_completed", s.tasks_completed);
  v.field("tasks_failed", s.tasks_failed);
  v.field("tasks_cancelled", s.tasks_cancelled);
  v.field("tasks_lost", s.tasks_lost);
  v.field("tasks_retried", s.tasks_retried);
  v.field("tasks_unschedulable", s.tasks_unschedulable);
  v.field("tasks_preempted", s.tasks_preempted);
  v.field("makespan", s.makespan);
  v.field("throughput", s.throughput);
  v.field("response_mean", s.response_mean);
  v.field("response_p50", s.response_p50);
  v.field("response_p95", s.response_p95);
  v.field("response_p99", s.response_p99);
  v.field("wait_mean", s.wait_mean);
  v.field("slowdown_mean", s.slowdown_mean);
  v.field("utilisation_mean", s.utilisation_mean);
  v.field("utilisation_cv", s.utilisation_cv);
  v.field("utilisation_cores", s.utilisation_cores);
  v.field("utilisation_memory", s.utilisation_memory);
  v.field("utilisation_gpus", s.utilisation_gpus);
  v.field("fragmentation", s.fragmentation);
  v.field("faults_injected", s.faults_injected);
  v.field("alerts", s.alerts);
  v.field("detection_latency_mean", s.detection_latency_mean);
  v.field("recovery_time_mean", s.recovery_time_mean);
  v.field("wasted_work", s.wasted_work);
  v.field("jobs_makespan_mean", s.jobs_makespan_mean);
  v.field("jobs_slowdown_mean", s.jobs_slowdown_mean);
  v.field("jobs_wait_mean", s.jobs_wait_mean);
  v.field("jobs_bounded_slowdown_mean", s.jobs_bounded_slowdown_mean);
  v.field("jain_fairness", s.jain_fairness);
  v.field("data_moved", s.data_moved);
  v.field("host_seconds", s.host_seconds);
  v.field("energy_joules", s.energy_joules);
}

// The summary's metric names and values, as doubles, in field-list order (for tables,
// comparisons and Python).
std::vector<std::pair<std::string, double>> summary_fields(const Summary& s);

struct RunRecords {
  std::vector<JobRecord> jobs;
  std::vector<TenantRecord> tenants;  // results/tenants.h
  std::vector<TaskRecord> tasks;
  std::vector<WorkerRecord> workers;
  std::vector<EventRecord> events;
  Summary summary;
};

// Fills each job's start, end and success from its tasks (tasks of job j are listed in
// `tasks` with job == j), and the summary's job figures.
void summarize_jobs(const std::vector<TaskRecord>& tasks, std::vector<JobRecord>& jobs, Summary& summary);

// Fills the summary's figures that come from a run's events (both drivers write the same
// event kinds): faults_injected counts fault starts (crash, slowdown_start, link_cut,
// link_degraded, pause_start, leader_kill); detection latency runs from a crash, cut or
// pause of a host to the next worker_dead of that host, recovery time from the same start
// to the work_recovered that follows that detection; alerts counts alert events;
// tasks_unschedulable counts task_unschedulable events.
void add_fault_metrics(const std::vector<EventRecord>& events, Summary& summary);

// Copies the records out of a finished run and computes the summary.
RunRecords collect_records(const TaskTable& table, const ClusterState& cluster, std::uint64_t tasks_retried);

// Computes the summary from records (fills each worker's utilisation and its per-dimension
// utilisations).
Summary summarize(const std::vector<TaskRecord>& tasks, std::vector<WorkerRecord>& workers,
                  std::uint64_t tasks_retried);

// What tasks hold, from the records alone, so that it means the same in both worlds
// (docs/results.md, "Resources"): a finished task held its worker's capacity in its request
// (cores, memory, gpus) over [start, end); a worker's capacity is `slots` cores, `memory`
// (0: not limited) and `gpus`. A worker record whose index a task names is that task's host.

// Per dimension, the fraction of capacity the finished tasks held over the makespan, what a
// worker holds capped at its capacity at each instant (a task's `end` includes its report's
// trip, when the worker may already run the next one): each worker's utilisation_cores /
// _memory / _gpus (0 for a dimension it has none of, or does not limit), and the pooled
// figures (held capacity-time / (total capacity x makespan), over the workers that have the
// dimension), written into `summary`.
void resource_utilisation(const std::vector<TaskRecord>& tasks, std::vector<WorkerRecord>& workers, double makespan,
                          Summary& summary);

// Fragmentation over [from, from + makespan): the time-average, over total cores, of the
// free cores stranded on hosts where no waiting task fits. A task waits from its submit to
// its start (or its end if it never started, or the end of the window if neither); a host's
// free capacity is its capacity less the requests of the finished tasks holding it; a
// waiting task fits a host when its whole request (cores, memory, gpus) fits that free
// capacity. While no task waits nothing is stranded. 0 when makespan or cores are 0.
double fragmentation(const std::vector<TaskRecord>& tasks, const std::vector<WorkerRecord>& workers, Time from,
                     double makespan);

}  // namespace fulcrum
