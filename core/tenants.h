// Tenants: who work belongs to, what each may hold, and what each holds now
// (docs/fairness.md).
//
// A tenant has a weight (its share relative to the others under the fair disciplines), a
// quota (what it is guaranteed while it has work: others may borrow it while it is idle,
// and with preemption on it is reclaimed) and a limit (what it never exceeds). Every job
// belongs to one tenant; "" is the default tenant, and a name no declaration mentions is
// a tenant of weight 1 with neither quota nor limit.
//
// TenantLedger keeps, per tenant, the requests of the tasks placed on workers (queued or
// running), by the cluster's dimensions (ClusterState::dimensions()). The scheduler tells
// it every placement and every release; it reads no clock and decides nothing: the queue
// discipline (core/fair_share.h), feasibility (limits) and preemption ask it.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/job_spec.h"
#include "core/resources.h"

namespace fulcrum {

using TenantId = std::uint32_t;

struct TenantSpec {
  std::string name;
  double weight = 1;
  Resources quota;  // guaranteed while it has work; 0 in a dimension: none
  Resources limit;  // never exceeded; 0 in a dimension: unlimited

  bool operator==(const TenantSpec&) const = default;
};

template <class V> void fields(V& v, TenantSpec& t) {
  v.field("name", t.name);
  v.field("weight", t.weight);
  v.field("quota", t.quota);
  v.field("limit", t.limit);
}

class TenantLedger {
 public:
  explicit TenantLedger(std::vector<TenantSpec> declared = {});

  // The tenant called `name`: a declared one, else one made now (weight 1, no bounds).
  // Ids are dense, declared tenants first in declaration order.
  TenantId id_of(const std::string& name);
  // The id of a tenant known so far, if any.
  std::optional<TenantId> find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? std::nullopt : std::optional<TenantId>(it->second);
  }
  std::size_t size() const { return tenants_.size(); }
  const TenantSpec& spec(TenantId t) const { return tenants_[t].spec; }
  // Whether some tenant has a limit (feasibility then asks within_limit()).
  bool any_limit() const { return any_limit_; }
  // Whether some tenant has a quota.
  bool any_quota() const { return any_quota_; }

  // The cluster's dimension names: quotas and limits are read along them. Call before the
  // amounts below whenever a dimension may have appeared.
  void set_dimensions(const std::vector<std::string>& names);
  // What the workers in service offer in all, by dimension (infinite or 0: ignored by
  // shares): the denominators of dominant shares.
  void set_totals(std::vector<double> totals) { totals_ = std::move(totals); }
  const std::vector<double>& totals() const { return totals_; }

  // A task of tenant t asking `request` (by dimension) was placed (+1) or left (-1).
  void hold(TenantId t, std::span<const double> request, int sign);
  std::span<const double> usage(TenantId t) const { return tenants_[t].usage; }
  std::uint32_t tasks(TenantId t) const { return tenants_[t].tasks; }

  // The largest fraction of any dimension's total that t holds (DRF's dominant share).
  double dominant_share(TenantId t) const;
  // Whether t may take `need` more without passing its limit in any dimension.
  bool within_limit(TenantId t, std::span<const double> need) const;
  // How much of its quota t would hold with `need` more: the largest usage / quota over
  // the dimensions it has a quota in; infinity when it has none.
  double quota_ratio(TenantId t, std::span<const double> need = {}, int sign = +1) const;
  // Whether t holds less than its quota (some dimension of it unused) and so is owed.
  bool below_quota(TenantId t) const { return quota_ratio(t) < 1 - kTolerance; }

 private:
  static constexpr double kTolerance = 1e-9;
  struct Entry {
    TenantSpec spec;
    std::vector<double> usage;  // by dimension
    std::vector<double> quota;  // by dimension, 0 none
    std::vector<double> limit;  // by dimension, infinity none
    std::uint32_t tasks = 0;
  };
  void project(Entry& e) const;  // quota and limit along dims_

  std::vector<Entry> tenants_;
  std::map<std::string, TenantId> index_;
  std::vector<std::string> dims_;
  std::vector<double> totals_;
  bool any_limit_ = false;
  bool any_quota_ = false;
};

}  // namespace fulcrum
