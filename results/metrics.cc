#include "results/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "results/stats.h"

namespace fulcrum {

namespace {
struct AsDoubles {
  std::vector<std::pair<std::string, double>>& out;
  template <class T> void field(std::string_view name, const T& value) {
    out.emplace_back(name, static_cast<double>(value));
  }
};
}  // namespace

std::vector<std::pair<std::string, double>> summary_fields(const Summary& s) {
  std::vector<std::pair<std::string, double>> out;
  AsDoubles visitor{out};
  fields(visitor, const_cast<Summary&>(s));  // the field list takes non-const; nothing is written
  return out;
}

void summarize_jobs(const std::vector<TaskRecord>& tasks, std::vector<JobRecord>& jobs, Summary& summary) {
  for (JobRecord& j : jobs) {
    j.start = -1;
    j.end = -1;
    j.wait = -1;
    j.bounded_slowdown = -1;
    j.success = true;
    j.processors = j.tasks > 0 ? 1 : 0;
  }
  std::vector<std::uint32_t> ended(jobs.size(), 0);
  // (job, time, +1 start / -1 end) of the finished tasks of jobs with several tasks, for
  // the most tasks a job ran at once; single-task jobs (most synthetic runs) need none.
  struct Edge {
    JobId job;
    Time time;
    int delta;
    bool operator<(const Edge& o) const {
      return job != o.job ? job < o.job : time != o.time ? time < o.time : delta < o.delta;
    }
  };
  std::vector<Edge> edges;
  for (const TaskRecord& t : tasks) {
    if (t.job >= jobs.size()) continue;
    JobRecord& j = jobs[t.job];
    if (t.start >= 0 && (j.start < 0 || t.start < j.start)) j.start = t.start;
    if (t.end >= 0) {
      j.end = std::max(j.end, t.end);
      ++ended[t.job];
    }
    j.success = j.success && t.state == TaskState::kFinished;
    if (j.tasks > 1 && t.state == TaskState::kFinished && t.start >= 0) {
      edges.push_back({t.job, t.start, 1});
      edges.push_back({t.job, t.end, -1});
    }
  }
  std::sort(edges.begin(), edges.end());  // ends before starts at equal times
  for (std::size_t i = 0; i < edges.size();) {
    const JobId job = edges[i].job;
    int running = 0, most = 0;
    for (; i < edges.size() && edges[i].job == job; ++i) most = std::max(most, running += edges[i].delta);
    jobs[job].processors = static_cast<std::uint32_t>(most);
  }
  double makespan_sum = 0, slowdown_sum = 0, wait_sum = 0, bounded_sum = 0;
  std::uint64_t done = 0;
  for (std::size_t k = 0; k < jobs.size(); ++k) {
    JobRecord& j = jobs[k];
    if (ended[k] < j.tasks) j.end = -1;
    if (j.start >= 0) j.wait = j.start - j.submit;
    if (j.end < 0) continue;
    const double makespan = j.end - j.submit;
    j.bounded_slowdown = std::max(makespan / std::max(j.end - j.start, kBoundedSlowdownTau), 1.0);
    makespan_sum += makespan;
    slowdown_sum += j.critical_path > 0 ? makespan / j.critical_path : 1.0;
    wait_sum += j.wait;
    bounded_sum += j.bounded_slowdown;
    ++done;
  }
  const auto mean = [&](double sum) { return done ? sum / static_cast<double>(done) : 0; };
  summary.jobs_makespan_mean = mean(makespan_sum);
  summary.jobs_slowdown_mean = mean(slowdown_sum);
  summary.jobs_wait_mean = mean(wait_sum);
  summary.jobs_bounded_slowdown_mean = mean(bounded_sum);
}

void add_fault_metrics(const std::vector<EventRecord>& events, Summary& s) {
  s.faults_injected = 0;
  s.alerts = 0;
  s.tasks_unschedulable = 0;
  double detection_sum = 0, recovery_sum = 0;
  std::uint64_t detections = 0, recoveries = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const EventRecord& e = events[i];
    s.alerts += e.alert ? 1 : 0;
    s.tasks_unschedulable += e.kind == "task_unschedulable" ? 1 : 0;
    const bool starts = e.kind == "crash" || e.kind == "slowdown_start" || e.kind == "link_cut" ||
                        e.kind == "link_degraded" || e.kind == "pause_start" || e.kind == "leader_kill";
    s.faults_injected += starts ? 1 : 0;
    if (e.kind != "crash" && e.kind != "link_cut" && e.kind != "pause_start") continue;
    // Events are in time order: the detection and recovery of this fault come after it.
    for (std::size_t j = i + 1; j < events.size(); ++j) {
      const EventRecord& d = events[j];
      if (d.host != e.host) continue;
      if (d.kind == "recover" || d.kind == "link_restored" || d.kind == "pause_end") break;  // undetected
      if (d.kind != "worker_dead") continue;
      detection_sum += d.time - e.time;
      ++detections;
      for (std::size_t k = j + 1; k < events.size(); ++k) {
        if (events[k].host == e.host && events[k].kind == "work_recovered") {
          recovery_sum += events[k].time - e.time;
          ++recoveries;
          break;
        }
        if (events[k].host == e.host && events[k].kind == "worker_dead") break;  // another fault
      }
      break;
    }
  }
  s.detection_latency_mean = detections ? detection_sum / static_cast<double>(detections) : 0;
  s.recovery_time_mean = recoveries ? recovery_sum / static_cast<double>(recoveries) : 0;
}

RunRecords collect_records(const TaskTable& table, const ClusterState& cluster, std::uint64_t tasks_retried) {
  RunRecords r;
  r.tasks = task_records(table, cluster);
  r.workers = worker_records(cluster);
  r.summary = summarize(r.tasks, r.workers, tasks_retried);
  return r;
}

Summary summarize(const std::vector<TaskRecord>& tasks, std::vector<WorkerRecord>& workers,
                  std::uint64_t tasks_retried) {
  Summary s;
  s.tasks_submitted = tasks.size();
  s.tasks_retried = tasks_retried;
  Time first_submit = std::numeric_limits<Time>::infinity();
  Time last_end = 0;
  std::vector<double> response;
  response.reserve(tasks.size());
  double wait_sum = 0, slowdown_sum = 0;
  for (const TaskRecord& t : tasks) {
    first_submit = std::min(first_submit, t.submit);
    s.tasks_preempted += t.preemptions;
    switch (t.state) {
      case TaskState::kFinished: ++s.tasks_completed; break;
      case TaskState::kFailed: ++s.tasks_failed; break;
      case TaskState::kCancelled: ++s.tasks_cancelled; break;
      default: ++s.tasks_lost; continue;
    }
    last_end = std::max(last_end, t.end);
    if (t.state != TaskState::kFinished) continue;
    const double r = t.end - t.submit;
    response.push_back(r);
    wait_sum += t.start - t.submit;
    const double service = t.end - t.start;
    slowdown_sum += service > 0 ? r / service : 1.0;
  }
  if (!tasks.empty()) s.makespan = std::max(0.0, last_end - first_submit);
  if (s.makespan > 0) s.throughput = static_cast<double>(s.tasks_completed) / s.makespan;
  if (!response.empty()) {
    s.response_mean = mean(response);
    s.wait_mean = wait_sum / static_cast<double>(response.size());
    s.slowdown_mean = slowdown_sum / static_cast<double>(response.size());
    std::sort(response.begin(), response.end());
    s.response_p50 = percentile_sorted(response, 0.50);
    s.response_p95 = percentile_sorted(response, 0.95);
    s.response_p99 = percentile_sorted(response, 0.99);
  }
  std::vector<double> util;
  util.reserve(workers.size());
  for (WorkerRecord& w : workers) {
    w.utilisation = s.makespan > 0 && w.slots > 0 ? w.busy_time / (w.slots * s.makespan) : 0;
    util.push_back(w.utilisation);
  }
  s.utilisation_mean = mean(util);
  if (s.utilisation_mean > 0 && util.size() > 1) {
    double ss = 0;
    for (double u : util) ss += (u - s.utilisation_mean) * (u - s.utilisation_mean);
    s.utilisation_cv = std::sqrt(ss / static_cast<double>(util.size())) / s.utilisation_mean;
  }
  if (!tasks.empty()) {
    resource_utilisation(tasks, workers, s.makespan, s);
    s.fragmentation = fragmentation(tasks, workers, first_submit, s.makespan);
  }
  return s;
}

}  // namespace fulcrum
