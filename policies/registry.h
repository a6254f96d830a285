// Builds policies from spec strings ("power_of_d:d=2"), so experiments name them as data.
//
// Every built-in policy is listed in registry.cc with its factory; an unknown name, an
// unknown parameter or a bad value is an Error naming the spec.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/expected.h"
#include "core/policy.h"

namespace fulcrum {

Expected<std::unique_ptr<Policy>> make_policy(const std::string& spec);
// The names make_policy accepts, in a stable order.
std::vector<std::string> policy_names();
// The classic policies a comparison runs by default.
std::vector<std::string> classic_policies();

}  // namespace fulcrum
