// The jobs of a scenario's file workload, ready to submit: loaded with the loaders,
// repeated and spaced as the scenario says, each job's tasks in a topological order (so
// that a task's parents come before it, as the core requires), by submit time.
#pragma once

#include <vector>

#include "core/dag.h"
#include "core/metrics.h"
#include "core/task.h"
#include "core/expected.h"
#include "scenario/scenario.h"

namespace fulcrum {

// REQUIRES: !trace.type.empty().
Expected<std::vector<DagJob>> load_jobs(const TraceWorkload& trace);

// The job with its tasks reordered topologically (edges renumbered). REQUIRES: check_dag.
DagJob topologically_sorted(const DagJob& job);

// Bytes sent along the jobs' edges between tasks that finished on different workers; the
// jobs' tasks are tasks[first..] in submission order (as both drivers number them).
double bytes_moved(const std::vector<DagJob>& jobs, const std::vector<TaskRecord>& tasks);

// The core's description of a topologically sorted job.
JobSpec dag_job_spec(const DagJob& job);

}  // namespace fulcrum
