// LocalQueue: what a worker runs next. The worker side of a dispatch, the same in the
// simulator's hosts (sim/executors.cc) and in `fulcrum worker` (real/worker_daemon.cc):
// dispatched tasks wait in FIFO order and the head starts as soon as its whole request
// fits the resources its running tasks leave free, so no worker is ever over-committed in
// any dimension. Strict FIFO, like a worker's slots today: a head that does not fit yet
// holds the tasks behind it (the core decides placement; the worker only keeps order).
//
// A value type with no clock and no I/O; the caller starts what start_ready() returns and
// reports each started task's end with finished().
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "core/resources.h"
#include "core/types.h"

namespace fulcrum {

class LocalQueue {
 public:
  // Memory 0 in `capacity` (not limited) is kept as infinity, here and in free().
  explicit LocalQueue(Resources capacity);

  // Whether `request` could ever run here (it fits the empty worker); "" or the dimension
  // it does not fit. A worker refuses such a dispatch instead of queueing it forever.
  std::string misfit(const Resources& request) const { return first_misfit(request, capacity_); }

  // REQUIRES: misfit(request) is "" and `t` is not queued or running here.
  void push(TaskId t, const Resources& request) { waiting_.push_back({t, request}); }

  // Takes a task that has not started off the queue (cancelled). Returns whether it waited.
  bool remove(TaskId t);

  // Starts, in FIFO order, every task at the head whose request fits what is free:
  // appends them to `out` and takes their resources.
  void start_ready(std::vector<TaskId>& out);

  // A started task ended (finished, failed, killed): its resources are free again.
  // Returns whether it was running here.
  bool finished(TaskId t);

  const Resources& capacity() const { return capacity_; }
  const Resources& free() const { return free_; }
  std::size_t waiting() const { return waiting_.size(); }
  std::size_t running() const { return running_.size(); }

 private:
  struct Entry {
    TaskId task;
    Resources request;
  };
  void take(const Resources& r, double sign);

  Resources capacity_;
  Resources free_;
  std::deque<Entry> waiting_;
  std::map<TaskId, Resources> running_;
};

}  // namespace fulcrum
