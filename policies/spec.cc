#include "policies/spec.h"

namespace fulcrum {

Expected<PolicySpec> parse_policy_spec(const std::string& text) {
  PolicySpec spec;
  const auto colon = text.find(':');
  spec.name = text.substr(0, colon);
  if (spec.name.empty()) return Error{"empty policy name in '" + text + "'"};
  if (colon == std::string::npos) return spec;
  std::string rest = text.substr(colon + 1);
  std::size_t start = 0;
  while (start <= rest.size()) {
    const auto comma = rest.find(',', start);
    const std::string item = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error{"policy parameter '" + item + "' in '" + text + "' is not key=value"};
    }
    const std::string key = item.substr(0, eq);
    if (spec.params.count(key)) return Error{"policy parameter '" + key + "' given twice in '" + text + "'"};
    spec.params[key] = item.substr(eq + 1);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return spec;
}

}  // namespace fulcrum
