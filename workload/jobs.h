// The jobs of a scenario's file workload, ready to submit: loaded with the loaders,
// repeated and spaced as the scenario says, each job's tasks in a topological order (so
// that a task's parents come before it, as the core requires), by submit time.
#pragma once

#include <vector>

#include "core/cluster.h"
#include "model/dag.h"
#include "core/records.h"
#include "core/task.h"
#include "core/expected.h"
#include "scenario/scenario.h"
#include "workload/loaders.h"

namespace fulcrum {

// A file workload's jobs and what their tasks ask for.
struct TraceJobs {
  std::vector<DagJob> jobs;
  // Aligned with jobs and their tasks: each task's request (one core, and what the file
  // says: SWF requested memory, WfCommons cores and memory, Alibaba plan_cpu and plan_mem).
  std::vector<TaskRequests> requests;
  // Aligned with jobs, or empty: whether the job is rigid (a gang: an SWF job's
  // processors, unless the workload says `split: true`), its run-time estimate in seconds
  // (SWF requested time; 0 unknown) and where it was read ("file:line", for errors).
  std::vector<std::uint8_t> gang;
  std::vector<double> estimates;
  // Aligned with jobs, or empty: each task's time limit, seconds (kill_at_estimate: the
  // SWF requested time); 0 none.
  std::vector<double> limits;
  // Aligned with jobs, or empty: each job's tenant (SWF tenants_from).
  std::vector<std::string> tenants;
  std::vector<std::string> origins;
};

// REQUIRES: !trace.type.empty().
Expected<TraceJobs> load_trace_jobs(const TraceWorkload& trace);
// The jobs alone.
Expected<std::vector<DagJob>> load_jobs(const TraceWorkload& trace);

// The job with its tasks reordered topologically (edges renumbered). REQUIRES: check_dag.
DagJob topologically_sorted(const DagJob& job);

// Bytes sent along the jobs' edges between tasks that finished on different workers; the
// jobs' tasks are tasks[first..] in submission order (as both drivers number them).
double bytes_moved(const std::vector<DagJob>& jobs, const std::vector<TaskRecord>& tasks);

// The core's description of a topologically sorted job (task names and the job's name
// kept); every task of kind `kind`.
JobSpec dag_job_spec(const DagJob& job, TaskKind kind = TaskKind::kBurn);
// Job j of a file workload as the core's description: dag_job_spec's, with each task's
// request (jobs.requests[j]) and estimate, the workload's `require` and `spread`, and
// whether it is a gang.
JobSpec trace_job_spec(const TraceJobs& jobs, std::size_t j, const TraceWorkload& trace,
                       TaskKind kind = TaskKind::kBurn);

// Whether every rigid job (gang) of `jobs` can start on `hosts` at all: an error naming
// the first that cannot, where it was read (file:line) and what it asks for, else true.
Expected<bool> check_rigid_jobs_fit(const TraceJobs& jobs, const std::vector<WorkerSpec>& hosts);

// A lower bound on the job's makespan on `hosts` (the jobs_slowdown denominator, the same
// in both worlds): the longest chain when every task takes its fastest time there — flops
// on the fastest host, or its cost on a named host of the cluster — and data moves free.
double critical_path_bound(const DagJob& job, const std::vector<WorkerSpec>& hosts);

}  // namespace fulcrum
