// Recovery tracking: when the work a dead worker held has all been dealt with. A worker's
// death opens a group of the tasks it lost; the group closes when every one of them is
// terminal (finished, failed for good or cancelled), and the scheduler then notices
// kWorkRecovered for that worker: the fault's recovery time ends there.
//
// A task lost twice (its second worker died too) belongs to both groups.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "core/types.h"

namespace fulcrum {

class RecoveryTracker {
 public:
  // `w` died holding `tasks` (none: nothing to recover, no group).
  void lost(WorkerId w, const std::vector<TaskId>& tasks);
  // `task` reached a terminal state: appends to `recovered` the workers whose lost work
  // is now all terminal.
  void ended(TaskId task, std::vector<WorkerId>& recovered);
  bool idle() const { return groups_.empty(); }

 private:
  std::map<TaskId, std::vector<std::uint32_t>> groups_of_;        // task -> its open groups
  std::map<std::uint32_t, std::pair<WorkerId, std::uint32_t>> groups_;  // group -> (worker, tasks left)
  std::uint32_t next_group_ = 0;
};

}  // namespace fulcrum
