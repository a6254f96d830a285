#include "core/queue_discipline.h"

namespace fulcrum {

void SkipAhead::push(TaskId task, double priority, bool returned, ShapeId shape) {
  if (shape >= lanes_.size()) {
    lanes_.resize(shape + 1);
    skipped_.resize(shape + 1, false);
  }
  lanes_[shape].push_ordered(task, priority, returned ? next_front_-- : next_back_++);
  ++size_;
}

void SkipAhead::new_pass() { skipped_.assign(skipped_.size(), false); }

std::size_t SkipAhead::choose() const {
  std::size_t best = kNone;
  for (std::size_t s = 0; s < lanes_.size(); ++s) {
    if (skipped_[s] || lanes_[s].empty()) continue;
    if (best == kNone || lanes_[s].front_before(lanes_[best])) best = s;
  }
  return best;
}

void SkipAhead::pop_front() {
  lanes_[choose()].pop_front();
  --size_;
}

void SkipAhead::reprioritise(const std::function<double(TaskId)>& priority_of) {
  for (PendingQueue& lane : lanes_) lane.reprioritise(priority_of);
}

void OrderedScan::push(TaskId task, double priority, bool returned, ShapeId /*shape*/) {
  entries_.insert({priority, returned ? next_front_-- : next_back_++, task});
}

void OrderedScan::reprioritise(const std::function<double(TaskId)>& priority_of) {
  std::set<Entry> again;
  for (const Entry& e : entries_) again.insert({priority_of(e.task), e.seq, e.task});
  entries_.swap(again);
  at_ = entries_.end();
}

std::unique_ptr<QueueDiscipline> make_discipline(bool skip_ahead) {
  if (skip_ahead) return std::make_unique<SkipAhead>();
  return std::make_unique<PriorityFifo>();
}

}  // namespace fulcrum
