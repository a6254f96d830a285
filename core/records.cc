#include "core/records.h"

#include <algorithm>

namespace fulcrum {

JobRecord job_record(JobId id, const std::string& name, Time submit, const JobSpec& job, double critical_path) {
  JobRecord r;
  r.id = id;
  r.name = name;
  r.submit = submit;
  r.tasks = static_cast<std::uint32_t>(job.tasks.size());
  r.critical_path = critical_path;
  r.width = job.gang ? r.tasks : 1;
  r.tenant = job.tenant;
  for (const TaskSpec& t : job.tasks) r.estimate = std::max(r.estimate, t.estimate);
  return r;
}

std::vector<TaskRecord> task_records(const TaskTable& table, const ClusterState& cluster) {
  static const Resources kOneCore{.cores = 1};
  std::vector<TaskRecord> records;
  records.reserve(table.tasks.size());
  for (const Task& t : table.tasks) {
    const Resources& r = t.shape < cluster.shape_count() ? cluster.needs(t.shape).request : kOneCore;
    records.push_back({t.id, t.job, t.flops, t.submit, t.dispatched, t.start, t.end, t.worker, t.attempts, t.state,
                       r.cores, r.memory, r.gpus, t.preemptions});
  }
  return records;
}

std::vector<WorkerRecord> worker_records(const ClusterState& cluster) {
  std::vector<WorkerRecord> records;
  records.reserve(cluster.size());
  for (const Worker& w : cluster.workers()) {
    const Resources capacity = w.spec.capacity();
    records.push_back({w.spec.name, w.spec.group, w.spec.speed, w.spec.slots, w.completed, w.busy_time, 0,
                       capacity.memory, capacity.gpus});
  }
  return records;
}

}  // namespace fulcrum
