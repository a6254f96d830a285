// Default names of host groups without `name:` (docs/scenario.md, "Host groups"): one
// such group is "w" (hosts w-0, w-1, ...), several are "w<i>" by their position.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "model/faults.h"
#include "scenario/load.h"
#include "scenario/scenario.h"

namespace fulcrum {
namespace {

std::vector<std::string> group_names(const Scenario& s) {
  std::vector<std::string> names;
  for (const HostGroup& g : s.cluster.groups) names.push_back(g.name);
  return names;
}

TEST(DefaultHostNames, OneUnnamedGroupIsW) {
  auto s = load_scenario_text(
      "cluster:\n"
      "  hosts: [{count: 2}, {name: big, count: 2}, {name: master}]\n"
      "workload: {rate: 5, tasks: 10}\n",
      "x.yaml");
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(group_names(*s), (std::vector<std::string>{"w", "big", "master"}));
  EXPECT_EQ(s->host_names(), (std::vector<std::string>{"w-0", "w-1", "big-0", "big-1", "master"}));
}

TEST(DefaultHostNames, SeveralUnnamedGroupsAreNumberedByPosition) {
  auto s = load_scenario_text(
      "cluster:\n"
      "  hosts:\n"
      "    - {count: 2, speed: 1e9}\n"
      "    - {name: big, count: 2, speed: 4e9}\n"
      "    - {count: 1}\n"
      "    - {count: 3, slots: 2}\n"
      "workload: {rate: 5, tasks: 10}\n",
      "x.yaml");
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(group_names(*s), (std::vector<std::string>{"w0", "big", "w2", "w3"}));
  EXPECT_EQ(s->host_names(),
            (std::vector<std::string>{"w0-0", "w0-1", "big-0", "big-1", "w2", "w3-0", "w3-1", "w3-2"}));
  const std::vector<WorkerSpec> workers = worker_specs(s->cluster);
  ASSERT_EQ(workers.size(), 8u);
  EXPECT_EQ(workers[0].group, "w0");
  EXPECT_EQ(workers[5].group, "w3");
  EXPECT_EQ(workers[5].slots, 2);
}

TEST(DefaultHostNames, ClashesWithAGivenNameAreStillRefused) {
  auto s = load_scenario_text(
      "cluster:\n"
      "  hosts:\n"
      "    - {count: 2}\n"
      "    - {count: 2}\n"
      "    - {name: w1, count: 2}\n"
      "workload: {rate: 5, tasks: 10}\n",
      "x.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(),
            "x.yaml:5: cluster.hosts[2].name: host name 'w1-0' is also a host of cluster.hosts[1]; give the groups "
            "distinct names");
}

constexpr const char* kTwoGroups =
    "seed: 3\n"
    "cluster:\n"
    "  hosts:\n"
    "    - {count: 2, speed: 1e9}\n"
    "    - {count: 2, speed: 2e9}\n"
    "workload: {rate: 4, tasks: 200}\n"
    "faults:\n"
    "  - {kind: crash, group: w1, at: 5, recover_after: 10}\n";

TEST(DefaultHostNames, AFaultGroupNamesTheSecondGroup) {
  auto s = load_scenario_text(kTwoGroups, "x.yaml");
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_EQ(s->faults.size(), 1u);
  EXPECT_EQ(s->faults[0].group, "w1");
  const std::vector<std::string> names = s->host_names();
  std::vector<std::string> groups;
  for (const WorkerSpec& w : worker_specs(s->cluster)) groups.push_back(w.group);
  FaultTimeline timeline(s->faults, names, groups, s->seed);
  std::set<std::string> crashed;
  for (FaultEvent e; timeline.next(e);) {
    if (e.kind == FaultEvent::Kind::kCrash) crashed.insert(names[e.host]);
  }
  EXPECT_EQ(crashed, (std::set<std::string>{"w1-0", "w1-1"}));

  // "w" is no group's name once several are unnamed.
  auto w = load_scenario_text(kTwoGroups, "x.yaml", {"faults[0].group=w"});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error(), "x.yaml (--set faults[0].group=w): faults[0].group: unknown group 'w' (groups are w0, w1)");
}

// The whole path: the CLI runs a two-group scenario without names in simulation, and the
// fault strikes the second group's hosts.
TEST(DefaultHostNames, TwoUnnamedGroupsRunInSimulation) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("fulcrum-hostnames-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path file = dir / "two_groups.yaml";
  std::ofstream(file) << kTwoGroups;
  const std::string command =
      std::string(FULCRUM_BINARY) + " run " + file.string() + " --out " + (dir / "out").string() + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  const int status = ::pclose(pipe);
  EXPECT_EQ(status, 0) << output;

  const auto read = [](const fs::path& p) {
    std::ifstream in(p);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  const std::string workers = read(dir / "out" / "workers.csv");
  for (const char* host : {"w0-0", "w0-1", "w1-0", "w1-1"}) {
    EXPECT_NE(workers.find(std::string("\n") + host + ","), std::string::npos) << host << " in\n" << workers;
  }
  std::set<std::string> crashed;
  std::istringstream events(read(dir / "out" / "events.csv"));
  for (std::string line; std::getline(events, line);) {
    // time,kind,host,detail,alert
    std::vector<std::string> cells;
    std::istringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    if (cells.size() >= 3 && cells[1] == "crash") crashed.insert(cells[2]);
  }
  EXPECT_EQ(crashed, (std::set<std::string>{"w1-0", "w1-1"})) << read(dir / "out" / "events.csv");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace fulcrum
