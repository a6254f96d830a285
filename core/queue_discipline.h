// The queue discipline: the first stage of a decision (docs/architecture.md, "A decision,
// in three stages"). It holds the ready tasks no worker has taken yet and says which one
// is offered to the placement policy next; feasibility (ClusterState's eligible workers
// for the task's shape) and placement (Policy) follow. Beside Policy, it is the interface
// backfilling and fair sharing plug into.
//
// Contract with the scheduler, once per placement pass: new_pass(); then while
// has_front(): front() is offered; pop_front() when it was placed, skip_front() when no
// worker can take it now. Entries are not removed when a task leaves the pending state
// some other way (cancelled, claimed by a worker, restored as done): the scheduler pops
// them when they reach the front. A task pushed with `returned` lost its place (its
// worker died, its backoff ended): it was accepted before every fresh task and goes ahead
// of them.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string_view>
#include <vector>

#include "core/cluster.h"
#include "core/pending_queue.h"
#include "core/types.h"

namespace fulcrum {

class QueueDiscipline {
 public:
  virtual ~QueueDiscipline() = default;
  virtual std::string_view name() const = 0;
  virtual void push(TaskId task, double priority, bool returned, ShapeId shape) = 0;
  virtual bool empty() const = 0;
  virtual std::size_t size() const = 0;
  // A placement pass begins: nothing is skipped yet.
  virtual void new_pass() = 0;
  // Whether a task is still to be offered in this pass.
  virtual bool has_front() const = 0;
  // REQUIRES: has_front().
  virtual TaskId front() const = 0;
  virtual void pop_front() = 0;
  // The front could not be placed now. REQUIRES: has_front().
  virtual void skip_front() = 0;
  // Gives every waiting task the priority `priority_of(task)` (a plan restored after a
  // failover), keeping the order among equals.
  virtual void reprioritise(const std::function<double(TaskId)>& priority_of) = 0;
};

// Strict order: highest priority first (priorities come from the job's plan: FIFO,
// critical path or random, SchedulerConfig::priority), first come first served among
// equals, returned tasks ahead of their equals; a task no worker can take now holds every
// task behind it (head-of-line blocking) until a worker frees room.
class PriorityFifo final : public QueueDiscipline {
 public:
  std::string_view name() const override { return "strict"; }
  void push(TaskId task, double priority, bool returned, ShapeId /*shape*/) override {
    if (returned) {
      queue_.push_front(task, priority);
    } else {
      queue_.push_back(task, priority);
    }
  }
  bool empty() const override { return queue_.empty(); }
  std::size_t size() const override { return queue_.size(); }
  void new_pass() override { blocked_ = false; }
  bool has_front() const override { return !blocked_ && !queue_.empty(); }
  TaskId front() const override { return queue_.front(); }
  void pop_front() override { queue_.pop_front(); }
  void skip_front() override { blocked_ = true; }
  void reprioritise(const std::function<double(TaskId)>& priority_of) override { queue_.reprioritise(priority_of); }

 private:
  PendingQueue queue_;
  bool blocked_ = false;
};

// Skip-ahead (first fit in queue order): the same order, but a task no worker can take
// now lets the next task of another shape go; tasks of its own shape wait behind it, so
// order holds among tasks that need the same, and a large request can starve while small
// ones pass it (the price of first fit; backfilling with reservations bounds it).
// One queue per shape, sharing one arrival order; a pass skips a shape once.
class SkipAhead final : public QueueDiscipline {
 public:
  std::string_view name() const override { return "skip_ahead"; }
  void push(TaskId task, double priority, bool returned, ShapeId shape) override;
  bool empty() const override { return size_ == 0; }
  std::size_t size() const override { return size_; }
  void new_pass() override;
  bool has_front() const override { return choose() != kNone; }
  TaskId front() const override { return lanes_[choose()].front(); }
  void pop_front() override;
  void skip_front() override { skipped_[choose()] = true; }
  void reprioritise(const std::function<double(TaskId)>& priority_of) override;

 private:
  static constexpr std::size_t kNone = ~std::size_t{0};
  // The lane whose front goes first among those not skipped in this pass, or kNone.
  std::size_t choose() const;

  std::vector<PendingQueue> lanes_;  // by shape
  std::vector<bool> skipped_;        // by shape, this pass
  std::size_t size_ = 0;
  std::int64_t next_back_ = 0;
  std::int64_t next_front_ = -1;
};

// Every waiting task in order, one by one: the same order as PriorityFifo, but a task no
// worker can take now (or that backfilling holds back) lets each later task be offered
// in turn. Backfilling (EASY, conservative) scans with it; what may start is the
// scheduler's reservation rule (core/profile.h), not the queue's.
class OrderedScan final : public QueueDiscipline {
 public:
  std::string_view name() const override { return "scan"; }
  void push(TaskId task, double priority, bool returned, ShapeId shape) override;
  bool empty() const override { return entries_.empty(); }
  std::size_t size() const override { return entries_.size(); }
  void new_pass() override { at_ = entries_.begin(); }
  bool has_front() const override { return at_ != entries_.end(); }
  TaskId front() const override { return at_->task; }
  void pop_front() override { at_ = entries_.erase(at_); }
  void skip_front() override { ++at_; }
  void reprioritise(const std::function<double(TaskId)>& priority_of) override;

 private:
  struct Entry {
    double priority;
    std::int64_t seq;
    TaskId task;
    bool operator<(const Entry& o) const { return priority != o.priority ? priority > o.priority : seq < o.seq; }
  };
  std::set<Entry> entries_;
  std::set<Entry>::iterator at_ = entries_.end();
  std::int64_t next_back_ = 0;
  std::int64_t next_front_ = -1;
};

std::unique_ptr<QueueDiscipline> make_discipline(bool skip_ahead);

}  // namespace fulcrum
