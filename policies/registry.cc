#include "policies/registry.h"

#include <algorithm>

#include "policies/builtin.h"

namespace fulcrum {
namespace {

struct Entry {
  const char* name;
  PolicyResult (*make)(const PolicySpec&);
};

constexpr Entry kPolicies[] = {
    {"round_robin", make_round_robin},
    {"random", make_random},
    {"weighted_round_robin", make_weighted_round_robin},
    {"weighted_random", make_weighted_random},
    {"least_connections", make_least_connections},
    {"jsq", make_jsq},
    {"power_of_d", make_power_of_d},
    {"heft", make_heft},
    {"learned", make_learned},
    {"first_fit", make_first_fit},
    {"binpack", make_binpack},
    {"spread", make_spread},
    {"tetris", make_tetris},
};

}  // namespace

std::string reject_unknown_params(const PolicySpec& spec, std::initializer_list<const char*> allowed) {
  for (const auto& param : spec.params) {
    const std::string& key = param.first;  // (clang 14 cannot capture a structured binding)
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      std::string names;
      for (const char* a : allowed) names += std::string(names.empty() ? "" : ", ") + a;
      return "policy '" + spec.name + "' has no parameter '" + key + "'" +
             (names.empty() ? " (it takes none)" : " (it takes: " + names + ")");
    }
  }
  return "";
}

Expected<std::unique_ptr<Policy>> make_policy(const std::string& text) {
  auto spec = parse_policy_spec(text);
  if (!spec) return Error{spec.error()};
  for (const Entry& e : kPolicies) {
    if (spec->name == e.name) return e.make(*spec);
  }
  std::string known;
  for (const auto& n : policy_names()) known += (known.empty() ? "" : ", ") + n;
  return Error{"unknown policy '" + spec->name + "' (known: " + known + ")"};
}

std::vector<std::string> policy_names() {
  std::vector<std::string> names;
  for (const Entry& e : kPolicies) names.emplace_back(e.name);
  return names;
}

std::vector<std::string> classic_policies() {
  return {"round_robin", "random", "weighted_round_robin", "weighted_random",
          "least_connections", "jsq", "power_of_d:d=2"};
}

}  // namespace fulcrum
