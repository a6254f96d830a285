// A policy spec string, "name" or "name:key=value,key=value", split into its parts.
#pragma once

#include <map>
#include <string>

#include "core/expected.h"

namespace fulcrum {

struct PolicySpec {
  std::string name;
  std::map<std::string, std::string> params;
};

Expected<PolicySpec> parse_policy_spec(const std::string& text);

}  // namespace fulcrum
