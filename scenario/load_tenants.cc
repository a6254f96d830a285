// The scenario's tenants, fair-sharing and preemption settings (docs/fairness.md).
#include "scenario/loader.h"

namespace fulcrum {
namespace scenario_detail {

// `tenants: {alice: {weight: 2, quota: {cores: 8}, limit: {cores: 16, memory: 64GiB}}}`.
std::vector<TenantSpec> Loader::tenants(const Field& f) const {
  std::vector<TenantSpec> out;
  const std::string example = "{alice: {weight: 2, quota: {cores: 8}}, bob: {weight: 1}}";
  for (const auto& [name, v] : open_map(*this, f, example)) {
    TenantSpec t;
    t.name = tenant_name(Field{YAML::Node(name), f.path, v.mark});
    const Field entry{v.node.IsNull() ? YAML::Node(YAML::NodeType::Map) : v.node, v.path, v.mark};
    const MapReader m(*this, entry, "{weight: 2, quota: {cores: 8}, limit: {cores: 16}}", "tenants.<name>");
    if (auto w = m.get("weight")) t.weight = number(*w, "a positive weight", [](double x) { return x > 0; });
    if (auto q = m.get("quota")) t.quota = amounts(*q);
    if (auto l = m.get("limit")) t.limit = amounts(*l);
    for (const auto& [dim, quota] : std::initializer_list<std::pair<const char*, std::pair<double, double>>>{
             {"cores", {t.quota.cores, t.limit.cores}},
             {"memory", {t.quota.memory, t.limit.memory}},
             {"gpus", {t.quota.gpus, t.limit.gpus}}}) {
      if (quota.first > 0 && quota.second > 0 && quota.first > quota.second) {
        fail(entry, std::string("quota of ") + dim + " (" + number_text(quota.first) + ") is above its limit (" +
                        number_text(quota.second) + "): a guarantee cannot exceed a ceiling");
      }
    }
    out.push_back(std::move(t));
  }
  if (out.empty()) fail(f, "must declare at least one tenant, such as " + example);
  return out;
}

// A quota's or a limit's amounts: cores, memory (bytes, or with a unit), GPUs, any other
// resource by name; each >= 0 (0: none in that dimension).
Resources Loader::amounts(const Field& f) const {
  Resources r;
  for (const auto& [name, v] : open_map(*this, f, "{cores: 8, memory: 32GiB}")) {
    if (name == "memory") {
      r.memory = bytes(v);
    } else {
      const double x = number(v, "an amount >= 0", [](double a) { return a >= 0; });
      if (name == "cores") {
        r.cores = x;
      } else if (name == "gpus") {
        r.gpus = x;
      } else {
        name_value(Field{YAML::Node(name), f.path, v.mark}, "a resource's name");
        r.other[name] = x;
      }
    }
  }
  return r;
}

std::string Loader::tenant_name(const Field& f) const { return name_value(f, "a tenant"); }

std::int32_t Loader::priority_class(const Field& f) const {
  return integer<int>(f, -1000000, 1000000, "an integer from -1000000 to 1000000 (higher goes first)");
}

// `preemption: {grace: 5, victims: requeue}`.
PreemptionSpec Loader::preemption(const Field& f) const {
  const MapReader m(*this, f, "{grace: 5, victims: requeue}");
  PreemptionSpec p;
  p.enabled = true;
  if (auto g = m.get("enabled")) p.enabled = boolean(*g);
  if (auto g = m.get("grace")) p.grace = number(*g, "a number of seconds >= 0", [](double x) { return x >= 0; });
  if (auto v = m.get("victims")) {
    p.victims = text(*v);
    if (p.victims != "requeue" && p.victims != "fail") fail(*v, "must be requeue or fail, got " + describe(v->node));
  }
  return p;
}

}  // namespace scenario_detail
}  // namespace fulcrum
