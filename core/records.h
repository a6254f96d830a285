// What the core leaves behind for a run's results: one record per task, per worker, per
// job and per event. Plain values copied out of the scheduler, so drivers can ship them
// across a process or a socket and writers can print them without the core; each has the
// one field list every serialiser walks (see core/job_spec.h).
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
  // Its request (TaskSpec::request): cores, memory (bytes) and GPUs it held while it ran.
  double cores = 1;
  double memory = 0;
  double gpus = 0;
  std::uint32_t preemptions = 0;  // times it was preempted (docs/fairness.md)
  // Its tenant is its job's (JobRecord::tenant): tasks.csv writes it from there, and the
  // record stays plain data (sim/isolated.cc copies it as bytes).
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
  v.enumeration("state", t.state, TaskState::kBackoff);
  field_since(v, 4, "cores", t.cores);
  field_since(v, 4, "memory", t.memory);
  field_since(v, 4, "gpus", t.gpus);
  field_since(v, 6, "preemptions", t.preemptions);
}

struct WorkerRecord {
  std::string name;
  std::string group;
  double speed = 0;
  int slots = 0;
  std::uint64_t tasks = 0;  // completed here
  double busy_time = 0;     // slot-seconds of completed tasks
  double utilisation = 0;   // busy_time / (slots x makespan)
  // Its capacity besides `slots` cores (WorkerSpec::capacity(); memory 0: not limited), and
  // the fraction of each dimension its finished tasks' requests held over the makespan
  // (results/metrics.h, resource_utilisation()).
  double memory = 0;
  double gpus = 0;
  double utilisation_cores = 0;
  double utilisation_memory = 0;
  double utilisation_gpus = 0;
};

template <class V> void fields(V& v, WorkerRecord& w) {
  v.field("name", w.name);
  v.field("group", w.group);
  v.field("speed", w.speed);
  v.field("slots", w.slots);
  v.field("tasks", w.tasks);
  v.field("busy_time", w.busy_time);
  v.field("utilisation", w.utilisation);
  field_since(v, 4, "memory", w.memory);
  field_since(v, 4, "gpus", w.gpus);
  field_since(v, 4, "utilisation_cores", w.utilisation_cores);
  field_since(v, 4, "utilisation_memory", w.utilisation_memory);
  field_since(v, 4, "utilisation_gpus", w.utilisation_gpus);
}

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
  std::uint32_t width = 1;       // tasks started together: a gang's tasks, else 1
  double estimate = 0;           // the submitter's run-time estimate, seconds (0 unknown)
  double wait = -1;              // start - submit (-1: never started)
  double bounded_slowdown = -1;  // max((end - submit) / max(end - start, 10 s), 1); -1 unfinished
  std::string tenant;            // JobSpec::tenant
};

// The bounded slowdown's threshold: jobs shorter than this count as this long (Feitelson).
inline constexpr double kBoundedSlowdownTau = 10;

// What a driver knows of a job when it is submitted (the rest comes from its tasks).
JobRecord job_record(JobId id, const std::string& name, Time submit, const JobSpec& job, double critical_path);

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
  v.field("width", j.width);
  v.field("estimate", j.estimate);
  v.field("wait", j.wait);
  v.field("bounded_slowdown", j.bounded_slowdown);
  v.field("tenant", j.tenant);
}

// One line of tenants.csv (results/tenants.h): what a tenant's work got over the run.
struct TenantRecord {
  std::string tenant;
  double weight = 1;
  std::uint64_t jobs = 0;
  std::uint64_t tasks = 0;
  std::uint64_t tasks_completed = 0;
  std::uint64_t preemptions = 0;
  // The fraction of the cluster's cores (memory, GPUs) its finished tasks held, averaged
  // over the makespan, and the largest of the three.
  double share_cores = 0;
  double share_memory = 0;
  double share_gpus = 0;
  double dominant_share = 0;
  // Its dominant share averaged over the time it was backlogged (had work waiting): what
  // fair sharing promises it, whatever the others did.
  double backlogged_share = 0;
  double backlogged_time = 0;
  double wait_mean = 0;              // its jobs' first start - submit, over jobs that ended
  double bounded_slowdown_mean = 0;  // the same jobs
};

template <class V> void fields(V& v, TenantRecord& t) {
  v.field("tenant", t.tenant);
  v.field("weight", t.weight);
  v.field("jobs", t.jobs);
  v.field("tasks", t.tasks);
  v.field("tasks_completed", t.tasks_completed);
  v.field("preemptions", t.preemptions);
  v.field("share_cores", t.share_cores);
  v.field("share_memory", t.share_memory);
  v.field("share_gpus", t.share_gpus);
  v.field("dominant_share", t.dominant_share);
  v.field("backlogged_share", t.backlogged_share);
  v.field("backlogged_time", t.backlogged_time);
  v.field("wait_mean", t.wait_mean);
  v.field("bounded_slowdown_mean", t.bounded_slowdown_mean);
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

// The task and worker records of the core's state now (a task's request from its shape).
std::vector<TaskRecord> task_records(const TaskTable& table, const ClusterState& cluster);
std::vector<WorkerRecord> worker_records(const ClusterState& cluster);

}  // namespace fulcrum
