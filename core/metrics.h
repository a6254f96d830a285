// What a run yields: one record per task, one per worker, and the summary metrics.
//
// Records are plain values copied out of the scheduler at the end of a run, so drivers
// can ship them across a process boundary and writers can print them without the core.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/cluster.h"
#include "core/task.h"

namespace fulcrum {

struct TaskRecord {
  TaskId id = 0;
  JobId job = 0;
  double flops = 0;  // the task's size
  Time submit = 0;
  Time dispatched = -1;  // last attempt's dispatch to a worker, -1: never dispatched
  Time start = -1;   // -1: never started
  Time end = -1;     // -1: never reached a terminal state
  WorkerId worker = kNoWorker;
  std::uint32_t attempts = 0;
  TaskState state = TaskState::kBlocked;
};

// The field list every serialiser walks (see core/job_spec.h).
template <class V> void fields(V& v, TaskRecord& t) {
  v.field("id", t.id);
  v.field("job", t.job);
  v.field("flops", t.flops);
  v.field("submit", t.submit);
  v.field("dispatched", t.dispatched);
  v.field("start", t.start);
  v.field("end", t.end);
  v.field("worker", t.worker);
  v.field("attempts", t.attempts);
  v.enumeration("state", t.state, TaskState::kCancelled);
}

struct WorkerRecord {
  std::string name;
  std::string group;
  double speed = 0;
  int slots = 0;
  std::uint64_t tasks = 0;  // completed here
  double busy_time = 0;     // slot-seconds of completed tasks
  double utilisation = 0;   // busy_time / (slots x makespan)
};

template <class V> void fields(V& v, WorkerRecord& w) {
  v.field("name", w.name);
  v.field("group", w.group);
  v.field("speed", w.speed);
  v.field("slots", w.slots);
  v.field("tasks", w.tasks);
  v.field("busy_time", w.busy_time);
  v.field("utilisation", w.utilisation);
}

struct Summary {
  std::uint64_t tasks_submitted = 0;
  std::uint64_t tasks_completed = 0;
  std::uint64_t tasks_failed = 0;
  std::uint64_t tasks_cancelled = 0;
  std::uint64_t tasks_lost = 0;     // accepted but neither finished, failed nor cancelled
  std::uint64_t tasks_retried = 0;
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
  // Faults (0 when the run had none).
  std::uint64_t faults_injected = 0;
  std::uint64_t alerts = 0;
  double detection_latency_mean = 0;  // a crash or pause until its worker was declared dead
  double recovery_time_mean = 0;      // a crash until all the work its worker held was done
  double wasted_work = 0;             // slot-seconds of attempts that did not complete
  // Jobs (a job of independent tasks counts as one; synthetic workloads: one per task).
  double jobs_makespan_mean = 0;      // end - submit
  double jobs_slowdown_mean = 0;      // makespan / critical-path lower bound
  double data_moved = 0;              // bytes sent along DAG edges between different hosts
  // Capacity used: the sum over hosts of their powered-on time (booting included) until the
  // run ended, and, in simulation with a power model, the energy the hosts consumed.
  double host_seconds = 0;
  double energy_joules = 0;
};

// One line of jobs.csv: a job from its submission to its last task's end.
struct JobRecord {
  JobId id = 0;
  std::string name;
  Time submit = 0;
  Time start = -1;           // first task start
  Time end = -1;             // last task end (-1: not all tasks ended)
  std::uint32_t tasks = 0;
  std::uint32_t processors = 0;  // the most tasks of the job that ran at once (for Batsim)
  double critical_path = 0;      // lower bound on its makespan: fastest host, free data
  bool success = true;           // every task finished
};

template <class V> void fields(V& v, JobRecord& j) {
  v.field("id", j.id);
  v.field("name", j.name);
  v.field("submit", j.submit);
  v.field("start", j.start);
  v.field("end", j.end);
  v.field("tasks", j.tasks);
  v.field("processors", j.processors);
  v.field("critical_path", j.critical_path);
  v.field("success", j.success);
}

// One line of events.csv: a fault injected or ended, or what the scheduler noticed.
struct EventRecord {
  double time = 0;
  std::string kind;    // e.g. "crash", "recover", "worker_dead", "leader_elected"
  std::string host;    // "" when not about a host
  std::string detail;
  bool alert = false;
};

template <class V> void fields(V& v, EventRecord& e) {
  v.field("time", e.time);
  v.field("kind", e.kind);
  v.field("host", e.host);
  v.field("detail", e.detail);
  v.field("alert", e.alert);
}

// The summary's metric names and values in a fixed order (for JSON and tables).
std::vector<std::pair<std::string, double>> summary_fields(const Summary& s);

struct RunRecords {
  std::vector<JobRecord> jobs;
  std::vector<TaskRecord> tasks;
  std::vector<WorkerRecord> workers;
  std::vector<EventRecord> events;
  Summary summary;
};

// Fills each job's start, end and success from its tasks (tasks of job j are listed in
// `tasks` with job == j), and the summary's job figures.
void summarize_jobs(const std::vector<TaskRecord>& tasks, std::vector<JobRecord>& jobs, Summary& summary);

// Fills the summary's fault figures from a run's events (both drivers write the same event
// kinds): faults_injected counts fault starts (crash, slowdown_start, link_cut,
// link_degraded, pause_start, leader_kill); detection latency runs from a crash, cut or
// pause of a host to the next worker_dead of that host, recovery time from the same start
// to the work_recovered that follows that detection; alerts counts alert events.
void add_fault_metrics(const std::vector<EventRecord>& events, Summary& summary);

// Copies the records out of a finished run and computes the summary.
RunRecords collect_records(const TaskTable& table, const ClusterState& cluster, std::uint64_t tasks_retried);

// Computes the summary from records (fills each worker's utilisation).
Summary summarize(const std::vector<TaskRecord>& tasks, std::vector<WorkerRecord>& workers,
                  std::uint64_t tasks_retried);

}  // namespace fulcrum
