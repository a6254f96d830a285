// Fair sharing as a queue discipline (docs/fairness.md): the first stage of a decision,
// like PriorityFifo, but it offers work tenant by tenant.
//
// Waiting tasks sit in lanes, one per (priority class, tenant), each in the usual order
// (the job's plan priority, first come first served among equals, returned tasks ahead).
// The next task offered is the front of the lane that comes first by:
//   1. the highest priority class;
//   2. a tenant holding less than its quota before one that does not (the guarantee);
//   3. the smallest weighted share: DRF's dominant share / weight (Ghodsi et al., NSDI'11)
//      or, for the simpler fair share, running tasks / weight;
//   4. the tenant declared (or first seen) first.
// Shares are read from the ledger when the scheduler asks, so each placement moves its
// tenant back: progressive filling, as DRF's paper runs it. A lane whose front no worker
// can take now (or whose tenant is at its limit) is passed over for the rest of the pass,
// and the next lane's front is offered: within a lane, order holds (its head blocks it).
#pragma once

#include <functional>
#include <map>
#include <utility>

#include "core/pending_queue.h"
#include "core/queue_discipline.h"
#include "core/tenants.h"

namespace fulcrum {

class FairShare final : public QueueDiscipline {
 public:
  enum class Key : std::uint8_t { kDominantShare, kRunningTasks };
  struct Lane {
    std::int32_t priority_class = 0;
    TenantId tenant = 0;
  };
  // `lane_of`: where a task waits. The ledger must outlive the discipline.
  FairShare(Key key, const TenantLedger& ledger, std::function<Lane(TaskId)> lane_of)
      : key_(key), ledger_(ledger), lane_of_(std::move(lane_of)) {}

  std::string_view name() const override { return key_ == Key::kDominantShare ? "drf" : "fair"; }
  void push(TaskId task, double priority, bool returned, ShapeId shape) override;
  bool empty() const override { return size_ == 0; }
  std::size_t size() const override { return size_; }
  void new_pass() override;
  bool has_front() const override { return chosen() != nullptr; }
  TaskId front() const override { return chosen()->queue.front(); }
  void pop_front() override;
  void skip_front() override;
  void reprioritise(const std::function<double(TaskId)>& priority_of) override;

 private:
  struct Entry {
    Lane lane;
    PendingQueue queue;
    bool skipped = false;
  };
  // The lane offered now (cached until it is popped, skipped or a task arrives: the
  // scheduler's bookkeeping between front() and pop_front() must not move it), or null.
  Entry* chosen() const;
  bool before(const Entry& a, const Entry& b) const;

  Key key_;
  const TenantLedger& ledger_;
  std::function<Lane(TaskId)> lane_of_;
  // By (-priority class, tenant): the highest class first when walking.
  mutable std::map<std::pair<std::int32_t, TenantId>, Entry> lanes_;  // mutable: chosen() caches into it
  std::size_t size_ = 0;
  std::int64_t next_back_ = 0;
  std::int64_t next_front_ = -1;
  mutable Entry* chosen_ = nullptr;
  mutable bool fresh_ = false;  // chosen_ is up to date
};

}  // namespace fulcrum
