#include "workload/jobs.h"

#include <algorithm>
#include <cmath>

#include "workload/loaders.h"

namespace fulcrum {

DagJob topologically_sorted(const DagJob& job) {
  const JobGraph graph(job);
  const std::vector<std::uint32_t>& order = graph.topological_order();
  std::vector<std::uint32_t> position(order.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) position[order[i]] = i;
  DagJob sorted;
  sorted.name = job.name;
  sorted.submit = job.submit;
  for (std::uint32_t t : order) sorted.tasks.push_back(job.tasks[t]);
  for (DagEdge e : job.edges) {
    e.from = position[e.from];
    e.to = position[e.to];
    sorted.edges.push_back(e);
  }
  return sorted;
}

double bytes_moved(const std::vector<DagJob>& jobs, const std::vector<TaskRecord>& tasks) {
  double bytes = 0;
  std::size_t first = 0;
  for (const DagJob& job : jobs) {
    for (const DagEdge& e : job.edges) {
      const std::size_t from = first + e.from, to = first + e.to;
      if (to >= tasks.size() || tasks[from].worker == kNoWorker || tasks[to].worker == kNoWorker) continue;
      if (tasks[from].worker != tasks[to].worker) bytes += e.bytes;
    }
    first += job.tasks.size();
  }
  return bytes;
}

JobSpec dag_job_spec(const DagJob& job, TaskKind kind) {
  JobSpec spec;
  spec.name = job.name;
  spec.tasks.resize(job.tasks.size());
  for (std::size_t i = 0; i < job.tasks.size(); ++i) {
    spec.tasks[i].flops = job.tasks[i].flops;
    spec.tasks[i].cost = job.tasks[i].cost;
    spec.tasks[i].name = job.tasks[i].name;
    spec.tasks[i].kind = kind;
  }
  for (const DagEdge& e : job.edges) {
    TaskSpec& child = spec.tasks[e.to];
    child.parents.push_back(e.from);
    child.parent_bytes.push_back(e.bytes);
    child.parent_comm.push_back(e.comm);
  }
  return spec;
}

double critical_path_bound(const DagJob& job, const std::vector<WorkerSpec>& hosts) {
  double fastest = 0;
  for (const WorkerSpec& h : hosts) fastest = std::max(fastest, h.speed);
  std::vector<double> task_time(job.tasks.size());
  for (std::size_t i = 0; i < job.tasks.size(); ++i) {
    const DagTask& t = job.tasks[i];
    // A task described only by per-host costs (flops 0) is not free on an unnamed host.
    double best = t.cost.empty() || t.flops > 0 ? t.flops / fastest : INFINITY;
    for (const WorkerSpec& h : hosts) {
      if (auto it = t.cost.find(h.name); it != t.cost.end()) best = std::min(best, it->second);
    }
    task_time[i] = std::isfinite(best) ? best : 0;
  }
  return JobGraph(job).critical_path(task_time, std::vector<double>(job.edges.size(), 0));
}

Expected<std::vector<DagJob>> load_jobs(const TraceWorkload& trace) {
  std::vector<DagJob> jobs;
  if (trace.type == "swf") {
    SwfOptions options;
    options.reference_speed = trace.reference_speed;
    options.first_job = trace.first_job;
    options.max_jobs = trace.max_jobs;
    options.time_scale = trace.time_scale;
    options.runtime_scale = trace.runtime_scale;
    options.max_procs = trace.max_procs;
    auto loaded = load_swf(trace.files.at(0), options);
    if (!loaded) return Error{loaded.error()};
    jobs = std::move(loaded->jobs);
  } else {
    std::vector<DagJob> distinct;
    for (const std::string& file : trace.files) {
      auto job = trace.type == "wfcommons" ? load_wfcommons(file, trace.reference_speed) : load_dag_json(file);
      if (!job) return Error{job.error()};
      if (auto ok = check_dag(*job); !ok) return Error{file + ": " + ok.error()};
      distinct.push_back(topologically_sorted(*job));
    }
    for (std::uint32_t i = 0; i < trace.count; ++i) {
      DagJob job = distinct[i % distinct.size()];
      job.submit = trace.interval * i;
      jobs.push_back(std::move(job));
    }
  }
  if (jobs.empty()) return Error{trace.files.at(0) + ": the workload has no job to run"};
  std::stable_sort(jobs.begin(), jobs.end(), [](const DagJob& a, const DagJob& b) { return a.submit < b.submit; });
  return jobs;
}

}  // namespace fulcrum
