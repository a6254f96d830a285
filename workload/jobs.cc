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

JobSpec trace_job_spec(const TraceJobs& jobs, std::size_t j, const TraceWorkload& trace, TaskKind kind) {
  JobSpec spec = dag_job_spec(jobs.jobs.at(j), kind);
  const TaskRequests* requests = j < jobs.requests.size() ? &jobs.requests[j] : nullptr;
  for (std::size_t i = 0; i < spec.tasks.size(); ++i) {
    TaskSpec& t = spec.tasks[i];
    if (requests != nullptr && i < requests->size()) t.request = (*requests)[i];
    t.require = trace.require;
    t.spread = trace.spread;
    if (j < jobs.estimates.size()) t.estimate = jobs.estimates[j];
    if (j < jobs.limits.size()) t.timeout = jobs.limits[j];
  }
  spec.gang = j < jobs.gang.size() && jobs.gang[j] != 0 && spec.tasks.size() > 1;
  spec.tenant = j < jobs.tenants.size() ? jobs.tenants[j] : trace.tenant;
  spec.priority_class = trace.priority_class;
  return spec;
}

namespace {

TraceWindow window_of(const TraceWorkload& trace) {
  return TraceWindow{trace.reference_speed, trace.first_job, trace.max_jobs, trace.time_scale, trace.runtime_scale};
}

}  // namespace

Expected<TraceJobs> load_trace_jobs(const TraceWorkload& trace) {
  TraceJobs out;
  if (trace.type == "swf") {
    SwfOptions options;
    static_cast<TraceWindow&>(options) = window_of(trace);
    options.max_procs = trace.max_procs;
    options.kill_at_estimate = trace.kill_at_estimate;
    options.tenant_field = trace.tenants_from == "user"        ? 12
                           : trace.tenants_from == "group"     ? 13
                           : trace.tenants_from == "queue"     ? 15
                           : trace.tenants_from == "partition" ? 16
                                                               : 0;
    auto loaded = load_swf(trace.files.at(0), options);
    if (!loaded) return Error{loaded.error()};
    out.jobs = std::move(loaded->jobs);
    out.requests = std::move(loaded->requests);
    out.estimates = std::move(loaded->estimates);
    out.limits = std::move(loaded->limits);
    out.tenants = std::move(loaded->tenants);
    out.gang.assign(out.jobs.size(), trace.split ? 0 : 1);
    for (const std::uint64_t line : loaded->lines) out.origins.push_back(trace.files.at(0) + ":" + std::to_string(line));
  } else if (trace.type == "alibaba") {
    AlibabaOptions options;
    static_cast<TraceWindow&>(options) = window_of(trace);
    options.max_instances = trace.max_instances;
    options.machine_memory = trace.machine_memory;
    auto loaded = load_alibaba(trace.files.at(0), options);
    if (!loaded) return Error{loaded.error()};
    out.jobs = std::move(loaded->jobs);
    out.requests = std::move(loaded->requests);
  } else {
    std::vector<DagJob> distinct;
    std::vector<TaskRequests> distinct_requests;
    for (const std::string& file : trace.files) {
      TaskRequests requests;
      auto job = trace.type == "wfcommons" ? load_wfcommons(file, trace.reference_speed, &requests) : load_dag_json(file);
      if (!job) return Error{job.error()};
      if (auto ok = check_dag(*job); !ok) return Error{file + ": " + ok.error()};
      requests.resize(job->tasks.size(), Resources{.cores = 1});
      // In the order topologically_sorted puts the tasks.
      TaskRequests sorted;
      const JobGraph graph(*job);
      for (std::uint32_t t : graph.topological_order()) sorted.push_back(requests[t]);
      distinct.push_back(topologically_sorted(*job));
      distinct_requests.push_back(std::move(sorted));
    }
    for (std::uint32_t i = 0; i < trace.count; ++i) {
      DagJob job = distinct[i % distinct.size()];
      job.submit = trace.interval * i;
      out.jobs.push_back(std::move(job));
      out.requests.push_back(distinct_requests[i % distinct.size()]);
    }
  }
  if (out.jobs.empty()) return Error{trace.files.at(0) + ": the workload has no job to run"};
  // By submit time, ties in order; requests follow their jobs.
  std::vector<std::size_t> order(out.jobs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return out.jobs[a].submit < out.jobs[b].submit; });
  TraceJobs sorted;
  sorted.jobs.reserve(order.size());
  sorted.requests.reserve(order.size());
  for (std::size_t i : order) {
    sorted.jobs.push_back(std::move(out.jobs[i]));
    sorted.requests.push_back(std::move(out.requests[i]));
    if (i < out.gang.size()) sorted.gang.push_back(out.gang[i]);
    if (i < out.estimates.size()) sorted.estimates.push_back(out.estimates[i]);
    if (i < out.limits.size()) sorted.limits.push_back(out.limits[i]);
    if (i < out.tenants.size()) sorted.tenants.push_back(std::move(out.tenants[i]));
    if (i < out.origins.size()) sorted.origins.push_back(std::move(out.origins[i]));
  }
  return sorted;
}

Expected<bool> check_rigid_jobs_fit(const TraceJobs& jobs, const std::vector<WorkerSpec>& hosts) {
  if (hosts.empty()) return true;
  double cores = 0;
  for (const WorkerSpec& h : hosts) cores += h.slots;
  for (std::size_t j = 0; j < jobs.jobs.size() && j < jobs.gang.size(); ++j) {
    if (!jobs.gang[j]) continue;
    double asked = 0;
    for (std::size_t t = 0; t < jobs.jobs[j].tasks.size(); ++t) {
      asked += j < jobs.requests.size() && t < jobs.requests[j].size() ? jobs.requests[j][t].cores : 1;
    }
    if (asked <= cores) continue;
    const std::string where = j < jobs.origins.size() ? jobs.origins[j] + ": " : "";
    return Error{where + "job " + jobs.jobs[j].name + " asks for " + workload_detail::format_number(asked) +
                 " processors at once (SWF field 5, or 8 when 5 is -1) and the cluster has " + workload_detail::format_number(cores) +
                 " cores: a rigid job never starts in part (cap it with workload.max_procs, or split it with "
                 "workload.split: true)"};
  }
  return true;
}

Expected<std::vector<DagJob>> load_jobs(const TraceWorkload& trace) {
  auto loaded = load_trace_jobs(trace);
  if (!loaded) return Error{loaded.error()};
  return std::move(loaded->jobs);
}

}  // namespace fulcrum
