// The scheduler's central queue of ready tasks: highest priority first, FIFO among equal
// priorities; a task put back at the front (it lost its worker) goes ahead of every task
// of its priority. Entries are not removed when a task leaves the pending state some other
// way (cancelled, claimed): the scheduler skips them when they reach the front.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/types.h"

namespace fulcrum {

class PendingQueue {
 public:
  void push_back(TaskId task, double priority) { push({priority, next_back_++, task}); }
  void push_front(TaskId task, double priority) { push({priority, next_front_--, task}); }
  // With an order number from the caller (several queues sharing one arrival order):
  // lower goes first among equal priorities.
  void push_ordered(TaskId task, double priority, std::int64_t seq) { push({priority, seq, task}); }
  // Whether this queue's front goes before `other`'s. REQUIRES: neither is empty.
  bool front_before(const PendingQueue& other) const { return Later{}(other.heap_.front(), heap_.front()); }
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  // REQUIRES: !empty().
  TaskId front() const { return heap_.front().task; }
  // Gives every entry the priority `priority_of(task)` (a plan restored after a failover);
  // the order among equal priorities is kept. O(n).
  template <class F> void reprioritise(F priority_of) {
    for (Entry& e : heap_) e.priority = priority_of(e.task);
    std::make_heap(heap_.begin(), heap_.end(), Later{});
  }
  void pop_front() {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    heap_.pop_back();
  }

 private:
  struct Entry {
    double priority;
    std::int64_t seq;
    TaskId task;
  };
  // The heap's top is the entry no other entry comes before.
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.priority != b.priority ? a.priority < b.priority : a.seq > b.seq;
    }
  };
  void push(const Entry& e) {
    heap_.push_back(e);
    std::push_heap(heap_.begin(), heap_.end(), Later{});
  }

  std::vector<Entry> heap_;
  std::int64_t next_back_ = 0;
  std::int64_t next_front_ = -1;
};

}  // namespace fulcrum
