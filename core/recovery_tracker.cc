#include "core/recovery_tracker.h"

namespace fulcrum {

void RecoveryTracker::lost(WorkerId w, const std::vector<TaskId>& tasks) {
  if (tasks.empty()) return;
  const std::uint32_t group = next_group_++;
  groups_[group] = {w, static_cast<std::uint32_t>(tasks.size())};
  for (TaskId t : tasks) groups_of_[t].push_back(group);
}

void RecoveryTracker::ended(TaskId task, std::vector<WorkerId>& recovered) {
  auto it = groups_of_.find(task);
  if (it == groups_of_.end()) return;
  for (const std::uint32_t group : it->second) {
    auto left = groups_.find(group);
    if (--left->second.second == 0) {
      recovered.push_back(left->second.first);
      groups_.erase(left);
    }
  }
  groups_of_.erase(it);
}

}  // namespace fulcrum
