// The CLI's --set key.path=value overrides, applied to the YAML tree before validation so
// that an override is checked exactly like the file it overrides (see scenario/load.h for
// the path syntax). Applied values remember their path, so errors name the override.
#include <string>
#include <string_view>
#include <vector>

#include "scenario/loader.h"

namespace fulcrum {
namespace scenario_detail {
namespace {

// "cluster.hosts[0].count" or "cluster.hosts.0.count" into its steps.
struct Step {
  std::string key;       // a key, or an index's digits
  bool bracket = false;  // written as [i], so an index
};

Expected<std::vector<Step>> parse_path(std::string_view path) {
  while (!path.empty() && path.front() == ' ') path.remove_prefix(1);
  while (!path.empty() && path.back() == ' ') path.remove_suffix(1);
  std::vector<Step> steps;
  std::size_t i = 0;
  while (true) {
    std::size_t j = i;
    while (j < path.size() && path[j] != '.' && path[j] != '[' && path[j] != ']') ++j;
    if (j == i) return Error{"empty key in the path"};
    steps.push_back({std::string(path.substr(i, j - i)), false});
    i = j;
    while (i < path.size() && path[i] == '[') {
      const std::size_t close = path.find(']', i);
      if (close == std::string_view::npos) return Error{"unclosed '['"};
      const std::string_view digits = path.substr(i + 1, close - i - 1);
      bool ok = !digits.empty() && digits.size() <= 9;
      for (char c : digits) ok = ok && c >= '0' && c <= '9';
      if (!ok) return Error{"a list index must be a number, got '[" + std::string(digits) + "]'"};
      steps.push_back({std::string(digits), true});
      i = close + 1;
    }
    if (i == path.size()) return steps;
    if (path[i] != '.') return Error{"unexpected '" + std::string(1, path[i]) + "' in the path"};
    ++i;
  }
}

bool is_index(const Step& step) {
  if (step.bracket) return true;
  if (step.key.empty() || step.key.size() > 9) return false;
  for (char c : step.key) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

Expected<AppliedOverride> apply_override(YAML::Node root, const std::string& text) {
  const std::string prefix = "--set '" + text + "': ";
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos) return Error{prefix + "expected key.path=value"};
  auto steps = parse_path(std::string_view(text).substr(0, eq));
  if (!steps.ok()) return Error{prefix + steps.error()};
  YAML::Node value;
  try {
    value = YAML::Load(text.substr(eq + 1));
  } catch (const YAML::ParserException& e) {
    return Error{prefix + "YAML syntax error in the value: " + e.msg};
  }
  if (!value.IsDefined() || value.IsNull()) value = YAML::Node(YAML::NodeType::Null);

  // yaml-cpp pitfalls: `a = b` on Nodes assigns the content, so walking uses reset(); and
  // indexing a sequence out of range or with a key silently turns it into a map, so the
  // type and bounds are checked first.
  YAML::Node cur = root;
  std::string path;
  for (std::size_t s = 0; s < steps->size(); ++s) {
    const Step& step = (*steps)[s];
    const bool last = s + 1 == steps->size();
    const std::string here = path.empty() ? "the scenario" : path;
    if (cur.IsSequence() && is_index(step)) {
      const std::size_t i = std::stoul(step.key);
      const std::size_t n = cur.size();
      if (i > n) {
        return Error{prefix + here + " has " + std::to_string(n) + " entries; index " + step.key +
                     " is past the end"};
      }
      path += "[" + std::to_string(i) + "]";
      if (i == n) {
        cur.push_back(last ? value : YAML::Node(YAML::NodeType::Map));
      } else if (last) {
        cur[i] = value;
      }
      cur.reset(cur[i]);
    } else if (cur.IsSequence()) {
      return Error{prefix + here + " is a list; index it, as in " + here + "[0]"};
    } else if (step.bracket) {
      return Error{prefix + here + " is not a list"};
    } else if (!cur.IsMap() && !cur.IsNull()) {
      return Error{prefix + here + " is not a map"};
    } else {
      path = join(path, step.key);
      if (last) {
        cur[step.key] = value;
      } else {
        const YAML::Node child = cur[step.key];
        if (!child.IsDefined() || child.IsNull()) cur[step.key] = YAML::Node(YAML::NodeType::Map);
      }
      cur.reset(cur[step.key]);
    }
  }
  return AppliedOverride{text, path};
}

}  // namespace scenario_detail
}  // namespace fulcrum
