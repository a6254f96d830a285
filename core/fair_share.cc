#include "core/fair_share.h"

namespace fulcrum {

void FairShare::push(TaskId task, double priority, bool returned, ShapeId /*shape*/) {
  const Lane lane = lane_of_(task);
  Entry& e = lanes_[{-lane.priority_class, lane.tenant}];
  e.lane = lane;
  e.queue.push_ordered(task, priority, returned ? next_front_-- : next_back_++);
  ++size_;
  fresh_ = false;
}

void FairShare::new_pass() {
  for (auto& [key, e] : lanes_) e.skipped = false;
  fresh_ = false;
}

bool FairShare::before(const Entry& a, const Entry& b) const {
  if (a.lane.priority_class != b.lane.priority_class) return a.lane.priority_class > b.lane.priority_class;
  const TenantId ta = a.lane.tenant, tb = b.lane.tenant;
  if (ledger_.any_quota()) {
    const bool owed_a = ledger_.below_quota(ta), owed_b = ledger_.below_quota(tb);
    if (owed_a != owed_b) return owed_a;
  }
  const auto share = [&](TenantId t) {
    const double used = key_ == Key::kDominantShare ? ledger_.dominant_share(t) : ledger_.tasks(t);
    return used / ledger_.spec(t).weight;
  };
  const double sa = share(ta), sb = share(tb);
  if (sa != sb) return sa < sb;
  return ta < tb;
}

FairShare::Entry* FairShare::chosen() const {
  if (fresh_) return chosen_;
  chosen_ = nullptr;
  for (auto& [key, e] : lanes_) {
    if (e.skipped || e.queue.empty()) continue;
    if (chosen_ == nullptr || before(e, *chosen_)) chosen_ = &e;
  }
  fresh_ = true;
  return chosen_;
}

void FairShare::pop_front() {
  chosen()->queue.pop_front();
  --size_;
  fresh_ = false;
}

void FairShare::skip_front() {
  chosen()->skipped = true;
  fresh_ = false;
}

void FairShare::reprioritise(const std::function<double(TaskId)>& priority_of) {
  for (auto& [key, e] : lanes_) e.queue.reprioritise(priority_of);
  fresh_ = false;
}

}  // namespace fulcrum
