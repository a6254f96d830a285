// The scenario reference, docs/scenario.md, against the loader: every key the loader
// accepts (scenario_key_paths()) has a row on the page, every row names a key the loader
// accepts, and the page's whole-scenario examples load.
//
// The page's key tables are those whose header's first cell is "key"; each row's first
// cell is a key's full path in backticks, a list's entries written "[]":
//   | `cluster.hosts[].count` | integer ≥ 1 | 1 | hosts in the group |
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "scenario/load.h"

namespace fulcrum {
namespace {

constexpr const char* kPage = FULCRUM_SOURCE_DIR "/docs/scenario.md";

std::vector<std::string> page_lines() {
  std::ifstream in(kPage);
  EXPECT_TRUE(in) << "cannot read " << kPage;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// The first cell of a table row ("| a | b |" -> "a").
std::string first_cell(const std::string& row) {
  const std::size_t end = row.find('|', 1);
  return trim(row.substr(1, end == std::string::npos ? std::string::npos : end - 1));
}

bool is_fence(const std::string& line) { return trim(line).rfind("```", 0) == 0; }

// Documented key path -> its 1-based line on the page. A malformed row or a key given
// twice is a failure naming its line.
std::map<std::string, int> documented_keys() {
  const std::vector<std::string> lines = page_lines();
  std::map<std::string, int> keys;
  bool in_code = false;
  bool in_key_table = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const int number = static_cast<int>(i) + 1;
    if (is_fence(line)) in_code = !in_code;
    const bool row = !in_code && line.rfind("|", 0) == 0;
    if (!row) {
      in_key_table = false;
      continue;
    }
    const bool table_start = i == 0 || lines[i - 1].rfind("|", 0) != 0;
    if (table_start) {
      in_key_table = first_cell(line) == "key";
      continue;  // the header
    }
    if (!in_key_table || line.rfind("|---", 0) == 0 || line.rfind("| ---", 0) == 0) continue;
    const std::string cell = first_cell(line);
    if (cell.size() < 3 || cell.front() != '`' || cell.back() != '`' ||
        cell.find('`', 1) != cell.size() - 1) {
      ADD_FAILURE() << "docs/scenario.md:" << number << ": a key table's first cell must be one key path in "
                    << "backticks, got '" << cell << "'";
      continue;
    }
    const std::string key = cell.substr(1, cell.size() - 2);
    if (auto [it, inserted] = keys.emplace(key, number); !inserted) {
      ADD_FAILURE() << "docs/scenario.md:" << number << ": key '" << key << "' is documented twice (also line "
                    << it->second << ")";
    }
  }
  return keys;
}

TEST(ScenarioReference, TheLoaderExportsItsKeys) {
  const std::vector<std::string> paths = scenario_key_paths();
  const std::set<std::string> set(paths.begin(), paths.end());
  EXPECT_EQ(set.size(), paths.size()) << "a key path is listed twice";
  for (const char* key : {"seed", "cluster", "cluster.hosts", "cluster.hosts[].count", "cluster.network.latency",
                          "workload.size.dist", "workload.rate_profile.kind", "faults[].mtbf", "autoscale.initial",
                          "power.off", "recovery.reconcile_grace", "real.time_scale"}) {
    EXPECT_TRUE(set.count(key)) << key;
  }
}

TEST(ScenarioReference, EveryAcceptedKeyIsDocumented) {
  const std::map<std::string, int> documented = documented_keys();
  ASSERT_FALSE(documented.empty()) << "no key tables found in docs/scenario.md";
  for (const std::string& key : scenario_key_paths()) {
    if (!documented.count(key)) {
      ADD_FAILURE() << "docs/scenario.md does not document key '" << key
                    << "', which the loader accepts: add a row to the table of its section";
    }
  }
}

TEST(ScenarioReference, EveryDocumentedKeyIsAccepted) {
  const std::vector<std::string> paths = scenario_key_paths();
  const std::set<std::string> accepted(paths.begin(), paths.end());
  for (const auto& [key, line] : documented_keys()) {
    if (!accepted.count(key)) {
      ADD_FAILURE() << "docs/scenario.md:" << line << ": documents key '" << key
                    << "', which the loader refuses (not in scenario_key_paths())";
    }
  }
}

// The exported list is what the loader really accepts: setting each key by an override
// may fail on its value or on what it combines with, but never as an unknown key.
TEST(ScenarioReference, EveryExportedKeyIsAcceptedByTheLoader) {
  const std::string base =
      "cluster:\n"
      "  hosts: [{count: 2}]\n"
      "workload: {rate: 5, tasks: 10}\n"
      "faults: [{kind: crash, host: w-0, at: 1}]\n";
  for (std::string key : scenario_key_paths()) {
    for (std::size_t at = key.find("[]"); at != std::string::npos; at = key.find("[]")) key.replace(at, 2, "[0]");
    const std::string last = key.substr(key.find_last_of(".]") == std::string::npos ? 0 : key.find_last_of(".]") + 1);
    auto s = load_scenario_text(base, "base.yaml", {key + "=1"});
    if (!s.ok()) {
      EXPECT_EQ(s.error().find("unknown key '" + last + "'"), std::string::npos) << key << ": " << s.error();
    }
  }
}

// Each ```yaml block with top-level cluster: and workload: is a whole scenario and must
// load, with file paths relative to examples/ (the page says so).
TEST(ScenarioReference, WholeScenarioExamplesLoad) {
  const std::vector<std::string> lines = page_lines();
  int whole = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (trim(lines[i]) != "```yaml") continue;
    const int first = static_cast<int>(i) + 2;  // the block's first line, 1-based
    std::string text;
    bool cluster = false, workload = false;
    for (++i; i < lines.size() && !is_fence(lines[i]); ++i) {
      text += lines[i] + "\n";
      cluster = cluster || lines[i].rfind("cluster:", 0) == 0;
      workload = workload || lines[i].rfind("workload:", 0) == 0;
    }
    if (!cluster || !workload) continue;
    ++whole;
    const std::string source = std::string(FULCRUM_SOURCE_DIR) + "/examples/scenario.md-line-" +
                               std::to_string(first) + ".yaml";
    auto s = load_scenario_text(text, source);
    EXPECT_TRUE(s.ok()) << "docs/scenario.md:" << first << ": the example scenario does not load: " << s.error();
  }
  EXPECT_GE(whole, 3) << "docs/scenario.md should show whole scenarios";
}

}  // namespace
}  // namespace fulcrum
