#include "core/records.h"

namespace fulcrum {

std::vector<TaskRecord> task_records(const TaskTable& table, const ClusterState& cluster) {
  static const Resources kOneCore{.cores = 1};
  std::vector<TaskRecord> records;
  records.reserve(table.tasks.size());
  for (const Task& t : table.tasks) {
    const Resources& r = t.shape < cluster.shape_count() ? cluster.needs(t.shape).request : kOneCore;
    records.push_back({t.id, t.job, t.flops, t.submit, t.dispatched, t.start, t.end, t.worker, t.attempts, t.state,
                       r.cores, r.memory, r.gpus});
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
