#include "core/tenants.h"

#include <algorithm>
#include <cmath>

namespace fulcrum {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

bool any_amount(const Resources& r) {
  if (r.cores > 0 || r.memory > 0 || r.gpus > 0) return true;
  return std::any_of(r.other.begin(), r.other.end(), [](const auto& kv) { return kv.second > 0; });
}

// r along `dims` (cores, memory, gpus, then others by name); `none` where r gives 0.
std::vector<double> along(const Resources& r, const std::vector<std::string>& dims, double none) {
  std::vector<double> v(dims.size(), none);
  const auto set = [&](std::size_t k, double amount) {
    if (k < v.size() && amount > 0) v[k] = amount;
  };
  set(0, r.cores);
  set(1, r.memory);
  set(2, r.gpus);
  for (std::size_t k = 3; k < dims.size(); ++k) {
    if (auto it = r.other.find(dims[k]); it != r.other.end()) set(k, it->second);
  }
  return v;
}

}  // namespace

TenantLedger::TenantLedger(std::vector<TenantSpec> declared) {
  for (TenantSpec& spec : declared) {
    any_limit_ = any_limit_ || any_amount(spec.limit);
    any_quota_ = any_quota_ || any_amount(spec.quota);
    index_.emplace(spec.name, static_cast<TenantId>(tenants_.size()));
    tenants_.push_back(Entry{std::move(spec), {}, {}, {}, 0});
  }
}

TenantId TenantLedger::id_of(const std::string& name) {
  if (auto it = index_.find(name); it != index_.end()) return it->second;
  const auto id = static_cast<TenantId>(tenants_.size());
  index_.emplace(name, id);
  Entry e;
  e.spec.name = name;
  project(e);
  tenants_.push_back(std::move(e));
  return id;
}

void TenantLedger::project(Entry& e) const {
  e.usage.resize(dims_.size(), 0);
  e.quota = along(e.spec.quota, dims_, 0);
  e.limit = along(e.spec.limit, dims_, kInfinity);
}

void TenantLedger::set_dimensions(const std::vector<std::string>& names) {
  if (names == dims_) return;
  dims_ = names;
  for (Entry& e : tenants_) project(e);
}

void TenantLedger::hold(TenantId t, std::span<const double> request, int sign) {
  Entry& e = tenants_[t];
  if (e.usage.size() < request.size()) e.usage.resize(request.size(), 0);
  for (std::size_t k = 0; k < request.size(); ++k) {
    e.usage[k] += sign * request[k];
    if (std::fabs(e.usage[k]) < 1e-9) e.usage[k] = 0;  // sums of the same requests: no drift below zero
  }
  e.tasks += sign;
}

double TenantLedger::dominant_share(TenantId t) const {
  const Entry& e = tenants_[t];
  double share = 0;
  for (std::size_t k = 0; k < e.usage.size() && k < totals_.size(); ++k) {
    if (totals_[k] > 0 && std::isfinite(totals_[k])) share = std::max(share, e.usage[k] / totals_[k]);
  }
  return share;
}

bool TenantLedger::within_limit(TenantId t, std::span<const double> need) const {
  const Entry& e = tenants_[t];
  for (std::size_t k = 0; k < need.size() && k < e.limit.size(); ++k) {
    if (need[k] <= 0) continue;
    const double used = k < e.usage.size() ? e.usage[k] : 0;
    if (used + need[k] > e.limit[k] * (1 + kTolerance)) return false;
  }
  return true;
}

double TenantLedger::quota_ratio(TenantId t, std::span<const double> need, int sign) const {
  const Entry& e = tenants_[t];
  double ratio = -kInfinity;
  for (std::size_t k = 0; k < e.quota.size(); ++k) {
    if (e.quota[k] <= 0) continue;
    const double used = (k < e.usage.size() ? e.usage[k] : 0) + (k < need.size() ? sign * need[k] : 0);
    ratio = std::max(ratio, used / e.quota[k]);
  }
  return ratio == -kInfinity ? kInfinity : ratio;
}

}  // namespace fulcrum
