// The queue discipline: the first stage of a decision (docs/architecture.md, "A decision,
// in three stages"). It holds the ready tasks no worker has taken yet and says which one
// is offered to the placement policy next; feasibility (ClusterState's eligible workers)
// and placement (Policy) follow. Beside Policy, it is the interface backfilling and fair
// sharing plug into.
//
// Contract with the scheduler: push() when a task becomes pending; front() is offered
// next; pop_front() when it was placed. Entries are not removed when a task leaves the
// pending state some other way (cancelled, claimed by a worker, restored as done): the
// scheduler skips and pops them when they reach the front. A task pushed with
// `returned` lost its place (its worker died, its backoff ended): it was accepted before
// every fresh task and goes ahead of them.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "core/pending_queue.h"
#include "core/types.h"

namespace fulcrum {

class QueueDiscipline {
 public:
  virtual ~QueueDiscipline() = default;
  virtual std::string_view name() const = 0;
  virtual void push(TaskId task, double priority, bool returned) = 0;
  virtual bool empty() const = 0;
  virtual std::size_t size() const = 0;
  // REQUIRES: !empty().
  virtual TaskId front() const = 0;
  virtual void pop_front() = 0;
  // Gives every waiting task the priority `priority_of(task)` (a plan restored after a
  // failover), keeping the order among equals.
  virtual void reprioritise(const std::function<double(TaskId)>& priority_of) = 0;
};

// Today's discipline: highest priority first (priorities come from the job's plan: FIFO,
// critical path or random, SchedulerConfig::priority), first come first served among
// equals, returned tasks ahead of their equals; a task no worker can take blocks those
// behind it until a worker frees room.
class PriorityFifo final : public QueueDiscipline {
 public:
  std::string_view name() const override { return "fifo"; }
  void push(TaskId task, double priority, bool returned) override {
    if (returned) {
      queue_.push_front(task, priority);
    } else {
      queue_.push_back(task, priority);
    }
  }
  bool empty() const override { return queue_.empty(); }
  std::size_t size() const override { return queue_.size(); }
  TaskId front() const override { return queue_.front(); }
  void pop_front() override { queue_.pop_front(); }
  void reprioritise(const std::function<double(TaskId)>& priority_of) override { queue_.reprioritise(priority_of); }

 private:
  PendingQueue queue_;
};

}  // namespace fulcrum
