// Tests of scenario loading: the YAML contract, defaults, overrides, and that every
// error names the file, the line and the key path.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <map>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "model/faults.h"
#include "scenario/load.h"
#include "scenario/scheduler_config.h"
#include "scenario/scenario.h"

namespace fulcrum {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class ScenarioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("fulcrum_scenario_test_" + std::to_string(rd()) + "_" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }

  // Loads `text` from a file named x.yaml and returns the error ("" if it loaded).
  std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
    auto s = load_scenario_file(write("x.yaml", text), overrides);
    return s.ok() ? "" : s.error();
  }

  std::string file(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

constexpr const char* kMinimal =
    "cluster:\n"
    "  hosts: [{count: 2}]\n"
    "workload: {rate: 5, tasks: 10}\n";

TEST_F(ScenarioTest, FullFile) {
  const std::string path = write("full.yaml", R"(seed: 7
cluster:
  hosts:
    - {count: 100, speed: 1e9, slots: 1}
    - {name: big, count: 2, speed: 4e9, slots: 8, weight: 5}
    - {name: master}
  network: {latency: 0.001, bandwidth: 1e8}
  queue_cap: 0
workload:
  type: poisson
  rate: 80
  size: {dist: exponential, mean: 2e9}
  tasks: 100000
policy: power_of_d:d=2
)");
  auto s = load_scenario_file(path);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->source, path);
  EXPECT_EQ(s->seed, 7u);
  ASSERT_EQ(s->cluster.groups.size(), 3u);
  EXPECT_EQ(s->cluster.groups[0].name, "w");
  EXPECT_EQ(s->cluster.groups[0].count, 100);
  EXPECT_EQ(s->cluster.groups[0].speed, 1e9);
  EXPECT_EQ(s->cluster.groups[0].slots, 1);
  EXPECT_EQ(s->cluster.groups[1].name, "big");
  EXPECT_EQ(s->cluster.groups[1].speed, 4e9);
  EXPECT_EQ(s->cluster.groups[1].slots, 8);
  EXPECT_EQ(s->cluster.groups[1].weight, 5);
  EXPECT_EQ(s->cluster.groups[2].count, 1);
  EXPECT_TRUE(s->cluster.platform.empty());
  EXPECT_EQ(s->cluster.network.latency, 0.001);
  EXPECT_EQ(s->cluster.network.bandwidth, 1e8);
  EXPECT_EQ(s->cluster.queue_cap, 0);
  EXPECT_EQ(s->workload.rate, 80);
  EXPECT_EQ(s->workload.size.kind, SizeDistribution::Kind::kExponential);
  EXPECT_EQ(s->workload.size.mean, 2e9);
  EXPECT_EQ(s->workload.tasks, 100000u);
  EXPECT_EQ(s->policy, "power_of_d:d=2");
  EXPECT_EQ(s->total_hosts(), 103);
  const std::vector<std::string> names = s->host_names();
  ASSERT_EQ(names.size(), 103u);
  EXPECT_EQ(names[0], "w-0");
  EXPECT_EQ(names[99], "w-99");
  EXPECT_EQ(names[100], "big-0");
  EXPECT_EQ(names[101], "big-1");
  EXPECT_EQ(names[102], "master");
}

TEST_F(ScenarioTest, Defaults) {
  auto s = load_scenario_text(kMinimal, "mem.yaml");
  ASSERT_TRUE(s.ok()) << s.error();
  const Scenario defaults;
  EXPECT_EQ(s->source, "mem.yaml");
  EXPECT_EQ(s->seed, 1u);
  EXPECT_EQ(s->cluster.network.latency, defaults.cluster.network.latency);
  EXPECT_EQ(s->cluster.network.bandwidth, defaults.cluster.network.bandwidth);
  EXPECT_EQ(s->cluster.queue_cap, -1);
  EXPECT_EQ(s->cluster.groups[0].speed, 1e9);
  EXPECT_EQ(s->cluster.groups[0].slots, 1);
  EXPECT_EQ(s->cluster.groups[0].weight, 0);
  EXPECT_EQ(s->workload.size.kind, SizeDistribution::Kind::kExponential);
  EXPECT_EQ(s->workload.size.mean, 1e9);
  EXPECT_EQ(s->workload.rate, 5);
  EXPECT_EQ(s->workload.tasks, 10u);
  EXPECT_EQ(s->policy, "round_robin");
  EXPECT_EQ(s->host_names(), (std::vector<std::string>{"w-0", "w-1"}));
}

TEST_F(ScenarioTest, IntegersMayBeWrittenAsIntegralFloats) {
  auto s = load_scenario_text("cluster: {hosts: [{count: 1e2}]}\nworkload: {rate: 1, tasks: 1e5}\nseed: 18446744073709551615\n",
                              "mem.yaml");
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->cluster.groups[0].count, 100);
  EXPECT_EQ(s->workload.tasks, 100000u);
  EXPECT_EQ(s->seed, 18446744073709551615u);
}

Expected<Scenario> with_size(const std::string& size) {
  return load_scenario_text("cluster: {hosts: [{count: 1}]}\nworkload:\n  rate: 1\n  tasks: 1\n  size: " + size + "\n",
                            "mem.yaml");
}

TEST_F(ScenarioTest, SizeDistributions) {
  using Kind = SizeDistribution::Kind;
  {
    auto s = with_size("{dist: constant, value: 3e9}");
    ASSERT_TRUE(s.ok()) << s.error();
    EXPECT_EQ(s->workload.size.kind, Kind::kConstant);
    EXPECT_EQ(s->workload.size.mean, 3e9);
  }
  {
    auto s = with_size("{dist: constant, mean: 4e9}");
    ASSERT_TRUE(s.ok()) << s.error();
    EXPECT_EQ(s->workload.size.kind, Kind::kConstant);
    EXPECT_EQ(s->workload.size.mean, 4e9);
  }
  {
    auto s = with_size("{dist: exponential, mean: 5e8}");
    ASSERT_TRUE(s.ok()) << s.error();
    EXPECT_EQ(s->workload.size.kind, Kind::kExponential);
    EXPECT_EQ(s->workload.size.mean, 5e8);
  }
  {
    auto s = with_size("{mean: 6e8}");  // dist defaults to exponential
    ASSERT_TRUE(s.ok()) << s.error();
    EXPECT_EQ(s->workload.size.kind, Kind::kExponential);
    EXPECT_EQ(s->workload.size.mean, 6e8);
  }
  {
    auto s = with_size("{dist: uniform, low: 1e8, high: 3e8}");
    ASSERT_TRUE(s.ok()) << s.error();
    EXPECT_EQ(s->workload.size.kind, Kind::kUniform);
    EXPECT_EQ(s->workload.size.low, 1e8);
    EXPECT_EQ(s->workload.size.high, 3e8);
  }
  {
    auto s = with_size("{dist: lognormal, mean: 1e9, sigma: 1.5}");
    ASSERT_TRUE(s.ok()) << s.error();
    EXPECT_EQ(s->workload.size.kind, Kind::kLognormal);
    EXPECT_EQ(s->workload.size.mean, 1e9);
    EXPECT_EQ(s->workload.size.sigma, 1.5);
  }
  {
    auto s = with_size("{dist: bounded_pareto, low: 1e7, high: 1e11, alpha: 1.1}");
    ASSERT_TRUE(s.ok()) << s.error();
    EXPECT_EQ(s->workload.size.kind, Kind::kBoundedPareto);
    EXPECT_EQ(s->workload.size.low, 1e7);
    EXPECT_EQ(s->workload.size.high, 1e11);
    EXPECT_EQ(s->workload.size.alpha, 1.1);
  }
}

TEST_F(ScenarioTest, BadSizeDistributions) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{dist: uniform, low: 5, high: 5}", "mem.yaml:5: workload.size.high: must be greater than low (5), got 5"},
      {"{dist: uniform, low: 0, high: 5}", "workload.size.low: must be a positive number"},
      {"{dist: bounded_pareto, low: 1, high: 2, alpha: 0}", "workload.size.alpha: must be a positive number, got 0"},
      {"{dist: bounded_pareto, low: 1, high: 2}", "workload.size: missing required key 'alpha'"},
      {"{dist: exponential, mean: -1}", "workload.size.mean: must be a positive number (flops), got -1"},
      {"{dist: exponential, mean: .inf}", "workload.size.mean: must be a positive number (flops), got .inf"},
      {"{dist: exponential, mean: 1e999}", "workload.size.mean: must be a positive number"},
      {"{dist: exponential, mean: nan}", "workload.size.mean: must be a positive number"},
      {"{dist: exponential}", "workload.size: missing required key 'mean'"},
      {"{dist: uniform, mean: 1}", "workload.size: dist uniform takes no 'mean' (it takes: low, high)"},
      {"{dist: constant, value: 1, mean: 1}", "workload.size: give value or mean, not both"},
      {"{dist: lognormal, mean: 1, sigma: 11}", "workload.size.sigma: must be a number from 0 to 10"},
      {"{dist: zipf, mean: 1}",
       "workload.size.dist: unknown size dist 'zipf' (known: constant, exponential, uniform, lognormal, "
       "bounded_pareto)"},
      {"{dist: exponential, mean: 1, shape: 2}", "workload.size: unknown key 'shape'"},
      {"exponential", "workload.size: must be a map such as {dist: exponential, mean: 1e9}, got exponential"},
  };
  for (const auto& [size, message] : cases) {
    auto s = with_size(size);
    ASSERT_FALSE(s.ok()) << size;
    EXPECT_NE(s.error().find(message), std::string::npos) << size << " -> " << s.error();
  }
}

TEST_F(ScenarioTest, Overrides) {
  const std::string path = write("o.yaml", R"(cluster:
  hosts:
    - {name: a, count: 2}
    - {name: b, count: 3}
workload: {rate: 5, tasks: 10}
)");
  {
    auto s = load_scenario_file(path, {"workload.rate=50", "cluster.queue_cap=0", "policy=jsq"});
    ASSERT_TRUE(s.ok()) << s.error();
    EXPECT_EQ(s->workload.rate, 50);
    EXPECT_EQ(s->cluster.queue_cap, 0);
    EXPECT_EQ(s->policy, "jsq");
  }
  {
    auto s = load_scenario_file(path, {"cluster.hosts[0].count=4", "cluster.hosts.1.speed=2e9"});
    ASSERT_TRUE(s.ok()) << s.error();
    EXPECT_EQ(s->cluster.groups[0].count, 4);
    EXPECT_EQ(s->cluster.groups[1].speed, 2e9);
    EXPECT_EQ(s->cluster.groups[1].count, 3);
  }
  {
    // A missing intermediate map is created; the last override of a key wins.
    auto s = load_scenario_file(path, {"cluster.network.latency=0.5", "seed=3", "seed=4"});
    ASSERT_TRUE(s.ok()) << s.error();
    EXPECT_EQ(s->cluster.network.latency, 0.5);
    EXPECT_EQ(s->cluster.network.bandwidth, NetworkSpec{}.bandwidth);
    EXPECT_EQ(s->seed, 4u);
  }
  {
    // Flow values replace whole subtrees; an index equal to the length appends.
    auto s = load_scenario_file(path, {"cluster.hosts=[{count: 2}]", "cluster.hosts[1]={name: c}",
                                       "workload.size={dist: uniform, low: 1, high: 2}"});
    ASSERT_TRUE(s.ok()) << s.error();
    ASSERT_EQ(s->cluster.groups.size(), 2u);
    EXPECT_EQ(s->cluster.groups[0].count, 2);
    EXPECT_EQ(s->cluster.groups[1].name, "c");
    EXPECT_EQ(s->workload.size.kind, SizeDistribution::Kind::kUniform);
  }
  {
    // Overrides also apply to an empty file.
    auto s = load_scenario_text("", "empty.yaml",
                                {"cluster.hosts=[{count: 1}]", "workload.rate=1", "workload.tasks=1"});
    ASSERT_TRUE(s.ok()) << s.error();
    EXPECT_EQ(s->total_hosts(), 1);
  }
}

TEST_F(ScenarioTest, OverrideErrors) {
  const std::string path = write("o.yaml", kMinimal);
  auto error = [&](const std::string& o) {
    auto s = load_scenario_file(path, {o});
    return s.ok() ? std::string() : s.error();
  };
  EXPECT_EQ(error("x"), "--set 'x': expected key.path=value");
  EXPECT_EQ(error("cluster..x=1"), "--set 'cluster..x=1': empty key in the path");
  EXPECT_EQ(error("cluster.hosts[5].count=1"),
            "--set 'cluster.hosts[5].count=1': cluster.hosts has 1 entries; index 5 is past the end");
  EXPECT_EQ(error("cluster.hosts.count=1"),
            "--set 'cluster.hosts.count=1': cluster.hosts is a list; index it, as in cluster.hosts[0]");
  EXPECT_EQ(error("workload.rate.x=1"), "--set 'workload.rate.x=1': workload.rate is not a map");
  EXPECT_EQ(error("cluster[0]=1"), "--set 'cluster[0]=1': cluster is not a list");
  EXPECT_NE(error("workload.rate=[1").find("--set 'workload.rate=[1': YAML syntax error in the value"),
            std::string::npos);
  // Values set by an override are validated like the file's, and the message names the
  // override instead of a line.
  EXPECT_EQ(error("workload.rate=-1"),
            path + " (--set workload.rate=-1): workload.rate: must be a positive number of tasks per second, got -1");
  EXPECT_EQ(error("cluster.hosts.0.count=-3"),
            path + " (--set cluster.hosts.0.count=-3): cluster.hosts[0].count: must be a positive integer, got -3");
  EXPECT_EQ(error("cluster.hostz.a=1"),
            path + " (--set cluster.hostz.a=1): cluster: unknown key 'hostz' (known: hosts, platform, network, "
                   "queue_cap, scheduler_host, zones)");
}

TEST_F(ScenarioTest, UnknownKeyNamesFileLineAndPath) {
  const std::string path = write("x.yaml", R"(seed: 1
cluster:
  hostz: [{count: 2}]
workload: {rate: 5, tasks: 10}
)");
  auto s = load_scenario_file(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(), path + ":3: cluster: unknown key 'hostz' (known: hosts, platform, network, queue_cap, "
                              "scheduler_host, zones)");
  EXPECT_NE(error_of("seed: 1\nsed: 2\n").find("x.yaml:2: unknown key 'sed' (known: seed, cluster, workload, policy, priority, queue, discipline, "
                                                    "tenants, preemption, real, recovery, faults, autoscale, power)"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "workload2: 1\n").find("x.yaml:4: unknown key 'workload2'"),
            std::string::npos);
  EXPECT_NE(error_of("cluster:\n  hosts:\n    - {count: 2, sped: 1}\nworkload: {rate: 5, tasks: 10}\n")
                .find("x.yaml:3: cluster.hosts[0]: unknown key 'sped' (known: name, count, speed, slots, weight, resources, "
                      "labels, zone)"),
            std::string::npos);
  EXPECT_NE(error_of("cluster:\n  hosts: [{count: 2}]\n  network: {latency: 1, bw: 2}\nworkload: {rate: 5, tasks: 1}\n")
                .find("x.yaml:3: cluster.network: unknown key 'bw' (known: latency, bandwidth)"),
            std::string::npos);
}

TEST_F(ScenarioTest, UnknownPolicy) {
  const std::string e = error_of(std::string(kMinimal) + "policy: fastest\n");
  EXPECT_NE(e.find("x.yaml:4: policy: unknown policy 'fastest' (known: round_robin"), std::string::npos) << e;
  const std::string p = error_of(std::string(kMinimal) + "policy: power_of_d:k=2\n");
  EXPECT_NE(p.find("x.yaml:4: policy: policy 'power_of_d' has no parameter 'k'"), std::string::npos) << p;
}

TEST_F(ScenarioTest, NegativeCount) {
  const std::string path = write("x.yaml", R"(# comment
seed: 1

cluster:
  queue_cap: 2
  hosts:
    - count: -3
workload: {rate: 5, tasks: 10}
)");
  auto s = load_scenario_file(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(), path + ":7: cluster.hosts[0].count: must be a positive integer, got -3");
}

TEST_F(ScenarioTest, MissingFile) {
  auto s = load_scenario_file(file("nope.yaml"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(), file("nope.yaml") + ": cannot read file: No such file or directory");
  auto d = load_scenario_file(dir_.string());
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().find(": cannot read file: "), std::string::npos) << d.error();
}

TEST_F(ScenarioTest, WrongTypes) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"cluster: {hosts: [{count: 2}]}\nworkload: {rate: fast, tasks: 1}\n",
       "x.yaml:2: workload.rate: must be a positive number of tasks per second, got fast"},
      {"cluster: {hosts: [{count: 2}]}\nworkload: {rate: \"80\", tasks: 1}\n",
       "x.yaml:2: workload.rate: must be a positive number of tasks per second, got \"80\""},
      {"cluster: {hosts: [{count: 2.5}]}\nworkload: {rate: 1, tasks: 1}\n",
       "x.yaml:1: cluster.hosts[0].count: must be a positive integer, got 2.5"},
      {"cluster: {hosts: [{count: 1e12}]}\nworkload: {rate: 1, tasks: 1}\n",
       "x.yaml:1: cluster.hosts[0].count: must be at most 10000000, got 1e12"},
      {"cluster: {hosts: [{count: [1]}]}\nworkload: {rate: 1, tasks: 1}\n",
       "x.yaml:1: cluster.hosts[0].count: must be a positive integer, got a list"},
      {"cluster: {hosts: {count: 1}}\nworkload: {rate: 1, tasks: 1}\n",
       "x.yaml:1: cluster.hosts: must be a non-empty list of host groups"},
      {"cluster: {hosts: []}\nworkload: {rate: 1, tasks: 1}\n",
       "x.yaml:1: cluster.hosts: must be a non-empty list of host groups"},
      {"cluster: 5\nworkload: {rate: 1, tasks: 1}\n",
       "x.yaml:1: cluster: must be a map (keys: hosts, platform, network, queue_cap, scheduler_host, zones), got 5"},
      {"cluster: {hosts: [{count: 1, name: a b}]}\nworkload: {rate: 1, tasks: 1}\n",
       "x.yaml:1: cluster.hosts[0].name: must be a name of letters, digits"},
      {"cluster: {hosts: [{count: 1}], queue_cap: -2}\nworkload: {rate: 1, tasks: 1}\n",
       "x.yaml:1: cluster.queue_cap: must be an integer >= -1"},
      {"cluster: {hosts: [{count: 1}]}\nworkload: {rate: 1, tasks: 0}\n",
       "x.yaml:2: workload.tasks: must be a positive integer, got 0"},
      {"cluster: {hosts: [{count: 1}]}\nworkload: {rate: 1, tasks: -1}\n",
       "x.yaml:2: workload.tasks: must be a positive integer, got -1"},
      {"seed: -1\ncluster: {hosts: [{count: 1}]}\nworkload: {rate: 1, tasks: 1}\n",
       "x.yaml:1: seed: must be a non-negative integer, got -1"},
      {"cluster: {hosts: [{count: 1}]}\nworkload: {rate: 1, tasks: 1}\npolicy: [jsq]\n",
       "x.yaml:3: policy: must be a string, got a list"},
      {"cluster: {hosts: [{count: 1}]}\nworkload: {rate: 1, tasks: 1, type: hawkes}\n",
       "x.yaml:2: workload.type: unknown workload type 'hawkes' (known: poisson, wfcommons, swf, dag, alibaba)"},
      {"cluster: {hosts: [{count: 1}]}\nworkload:\n  rate:\n  tasks: 1\n",
       "x.yaml:3: workload.rate: must be a positive number of tasks per second, got no value"},
      {"cluster: {hosts: [{count: 1}]}\nworkload: {tasks: 1}\n", "x.yaml:2: workload: missing required key 'rate'"},
      {"workload: {rate: 1, tasks: 1}\n", "x.yaml:1: missing required key 'cluster'"},
      {"cluster: {}\nworkload: {rate: 1, tasks: 1}\n", "x.yaml:1: cluster: needs hosts"},
      {"", "x.yaml: the scenario is empty"},
      {"- 1\n- 2\n", "x.yaml:1: a scenario is a map of seed, cluster, workload and policy, got a list"},
      {"seed: 1\nseed: 2\n", "x.yaml:2: key 'seed' is given twice"},
      {"a: 1\n---\nb: 2\n", "x.yaml:2: a scenario is one YAML document; this starts another"},
      {"seed: 1\n,\n", "x.yaml:2: YAML syntax error: "},
      {",seed: 1\n", "x.yaml:1: YAML syntax error: unexpected ','"},
      {"cluster: {hosts: [{count: 1}], scheduler_host: w}\nworkload: {rate: 1, tasks: 1}\n",
       "x.yaml:1: cluster.scheduler_host: only with platform"},
  };
  for (const auto& [text, message] : cases) {
    const std::string e = error_of(text);
    EXPECT_NE(e.find(message), std::string::npos) << text << "-> " << e;
  }
}

TEST_F(ScenarioTest, YamlSyntaxError) {
  const std::string path = write("x.yaml", "cluster:\n  hosts: [{count: 2}\nworkload: {rate: 5, tasks: 10}\n");
  auto s = load_scenario_file(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().rfind(path + ":", 0), 0u) << s.error();
  EXPECT_NE(s.error().find(": YAML syntax error: "), std::string::npos) << s.error();
  const std::string tab = error_of("cluster:\n\thosts: 1\n");
  EXPECT_NE(tab.find("YAML syntax error"), std::string::npos) << tab;
}

TEST_F(ScenarioTest, Platform) {
  write("platforms/p.xml", "<platform version=\"4.1\"/>\n");
  const std::string path = write("sub/s.yaml",
                                 "cluster:\n  platform: ../platforms/p.xml\n  scheduler_host: Tremblay\n"
                                 "workload: {rate: 1, tasks: 1}\n");
  auto s = load_scenario_file(path);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(fs::path(s->cluster.platform), (dir_ / "platforms/p.xml").lexically_normal());
  EXPECT_EQ(s->cluster.scheduler_host, "Tremblay");
  EXPECT_TRUE(s->cluster.groups.empty());
  EXPECT_EQ(s->total_hosts(), 0);
}

TEST_F(ScenarioTest, PlatformFileMissing) {
  const std::string path = write("x.yaml", "cluster:\n  platform: nothere.xml\nworkload: {rate: 1, tasks: 1}\n");
  auto s = load_scenario_file(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(), path + ":2: cluster.platform: no such file '" + file("nothere.xml") +
                           "' (relative to the scenario's directory)");
  const std::string d = error_of("cluster:\n  platform: .\nworkload: {rate: 1, tasks: 1}\n");
  EXPECT_NE(d.find("x.yaml:2: cluster.platform: "), std::string::npos) << d;
  EXPECT_NE(d.find("is a directory"), std::string::npos) << d;
}

TEST_F(ScenarioTest, HostsAndPlatformTogether) {
  write("p.xml", "<platform version=\"4.1\"/>\n");
  const std::string e =
      error_of("cluster:\n  hosts: [{count: 1}]\n  platform: p.xml\nworkload: {rate: 1, tasks: 1}\n");
  EXPECT_NE(e.find("x.yaml:3: cluster: give either hosts or platform, not both"), std::string::npos) << e;
  const std::string n =
      error_of("cluster:\n  platform: p.xml\n  network: {latency: 0}\nworkload: {rate: 1, tasks: 1}\n");
  EXPECT_NE(n.find("x.yaml:3: cluster.network: only with hosts"), std::string::npos) << n;
}

TEST_F(ScenarioTest, DuplicateHostNames) {
  auto hosts = [&](const std::string& groups) {
    return error_of("cluster:\n  hosts:\n" + groups + "workload: {rate: 1, tasks: 1}\n");
  };
  // The one unnamed group's default prefix, given again (several unnamed groups get
  // distinct names: host_names_test.cc).
  EXPECT_NE(hosts("    - {count: 2}\n    - {name: w, count: 3}\n")
                .find("x.yaml:4: cluster.hosts[1].name: host name 'w-0' is also a host of cluster.hosts[0]"),
            std::string::npos);
  EXPECT_NE(hosts("    - {name: a}\n    - {name: b}\n    - {name: a}\n")
                .find("x.yaml:5: cluster.hosts[2].name: host name 'a' is also a host of cluster.hosts[0]"),
            std::string::npos);
  // A single host named like a member of a group, in either order.
  EXPECT_NE(hosts("    - {name: n, count: 4}\n    - {name: n-3}\n")
                .find("x.yaml:4: cluster.hosts[1].name: host name 'n-3' is also a host of cluster.hosts[0]"),
            std::string::npos);
  EXPECT_NE(hosts("    - {name: n-3}\n    - {name: n-1}\n    - {name: n, count: 4}\n")
                .find("x.yaml:5: cluster.hosts[2].name: host name 'n-1' is also a host of cluster.hosts[1]"),
            std::string::npos);
  // Near misses are fine: n-4 is past the group, n-03 and n is not a member.
  EXPECT_EQ(hosts("    - {name: n, count: 4}\n    - {name: n-4}\n    - {name: n-03}\n    - {name: n}\n"
                  "    - {name: w, count: 2}\n    - {name: w-0-0}\n"),
            "");
}

TEST_F(ScenarioTest, DefaultScenario) {
  const std::string_view yaml = default_scenario_yaml();
  EXPECT_EQ(yaml.substr(0, 1), "#");
  auto s = load_scenario_text(std::string(yaml), "<default>");
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->seed, 42u);
  EXPECT_EQ(s->total_hosts(), 16);
  EXPECT_EQ(s->policy, "power_of_d:d=2");
  EXPECT_EQ(s->workload.tasks, 20000u);
  double capacity = 0;
  for (const HostGroup& g : s->cluster.groups) capacity += g.count * g.speed * g.slots;
  EXPECT_DOUBLE_EQ(s->workload.rate * s->workload.size.mean / capacity, 0.8);
  EXPECT_EQ(s->host_names().front(), "fast-0");
  EXPECT_EQ(s->host_names().back(), "slow-7");
}

// The shared SimGrid example platform, referenced relative to the scenario file.
TEST_F(ScenarioTest, SharedSmallPlatform) {
  const fs::path xml = (fs::path(FULCRUM_SOURCE_DIR) / ".." / "shared/workloads/platforms/small_platform.xml").lexically_normal();
  ASSERT_TRUE(fs::exists(xml)) << xml << " not found: ../shared must sit beside the repository";
  const std::string relative = fs::relative(xml, dir_).string();
  ASSERT_TRUE(fs::path(relative).is_relative());
  const std::string path =
      write("x.yaml", "cluster:\n  platform: " + relative + "\n  scheduler_host: Tremblay\nworkload: {rate: 1, tasks: 1}\n");
  auto s = load_scenario_file(path);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_TRUE(fs::equivalent(s->cluster.platform, xml));
}

// Malformed input of every kind is an Error, never a crash or a hang.
TEST_F(ScenarioTest, GarbageNeverCrashes) {
  const std::vector<std::string> inputs = {
      std::string(100000, '['),
      std::string(100000, '{'),
      ",",  // yaml-cpp 0.7's LoadAll loops forever on this one (jbeder/yaml-cpp#1040)
      "\n,\n",
      "---\n,\n",
      "[:",
      "{:",
      "&a [*a]",
      "cluster: &a {hosts: *a}\nworkload: {rate: 1, tasks: 1}\n",
      "cluster: {hosts: &a [*a]}\nworkload: {rate: 1, tasks: 1}\n",
      "*undefined",
      "cluster: !!binary AAAA\n",
      "? [a, b]\n: 1\n",
      std::string("\0\1\2\xff\xfe", 5),
      "\xef\xbb\xbf",
      "cluster: {hosts: [{count: 0x10}]}\nworkload: {rate: 1, tasks: 1}\n",
      "cluster: {hosts: [{count: 9999999999999999999999}]}\nworkload: {rate: 1e400, tasks: 1e400}\n",
      "%YAML 9.9\n---\na: 1\n",
      "'unterminated",
      "cluster: {hosts: [{count: 1}]}\nworkload: {rate: 1, tasks: 1}\npolicy: ':::'\n",
      "cluster: {hosts: [{count: 1}]}\nworkload: {rate: 1, tasks: 1}\npolicy: 'power_of_d:d=999999999999999999999'\n",
      "cluster: {hosts: [{count: 1}]}\nworkload: {rate: 1, tasks: 1}\npolicy: 'power_of_d:d=-1'\n",
  };
  for (const std::string& text : inputs) {
    auto s = load_scenario_text(text, "g.yaml");
    if (!s.ok()) {
      EXPECT_EQ(s.error().rfind("g.yaml", 0), 0u) << s.error();
    }
  }
  const std::vector<std::string> overrides = {"=", "=1", "[0]=1", "a[=1", "a[x]=1", "a]=1", "a.=1",
                                              "a[99999999999]=1", "seed=[", "seed=,", "seed={foo:", "cluster.hosts[0][0]=1",
                                              "cluster.hosts.0.0=1", "cluster.hosts.1.count=2"};
  for (const std::string& o : overrides) {
    auto s = load_scenario_text(kMinimal, "g.yaml", {o});
    if (!s.ok()) {
      EXPECT_FALSE(s.error().empty()) << o;
    }
  }
  auto big = load_scenario_text(kMinimal, "g.yaml",
                                {"cluster.hosts=[{count: 6000000}, {name: b, count: 6000000}]"});
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().find("too many hosts"), std::string::npos) << big.error();
}


// --- recovery: and faults: ---

TEST_F(ScenarioTest, RecoveryKeys) {
  auto s = load_scenario_text(std::string(kMinimal) + R"(recovery:
  heartbeat_interval: 0.5
  suspect_after: 2
  dead_after: 4.5
  max_attempts: 5
  retry_backoff: 0
  task_timeout: 30
  quarantine_after: 2
  quarantine_window: 120
  quarantine_for: 0
  backlog_alert: 1000
  election_delay: 0.25
  reconcile_grace: 1.5
)",
                              "mem.yaml");
  ASSERT_TRUE(s.ok()) << s.error();
  const RecoverySpec& r = s->recovery;
  EXPECT_EQ(r.heartbeat_interval, 0.5);
  EXPECT_EQ(r.suspect_after, 2);
  EXPECT_EQ(r.dead_after, 4.5);
  EXPECT_EQ(r.max_attempts, 5u);
  EXPECT_EQ(r.retry_backoff, 0);
  EXPECT_EQ(r.task_timeout, 30);
  EXPECT_EQ(r.quarantine_after, 2u);
  EXPECT_EQ(r.quarantine_window, 120);
  EXPECT_EQ(r.quarantine_for, 0);
  EXPECT_EQ(r.backlog_alert, 1000u);
  EXPECT_EQ(r.election_delay, 0.25);
  EXPECT_EQ(r.reconcile_grace, 1.5);
  EXPECT_TRUE(s->faults.empty());

  // Keys left out keep their defaults.
  auto partial = load_scenario_text(std::string(kMinimal) + "recovery: {max_attempts: 1}\n", "mem.yaml");
  ASSERT_TRUE(partial.ok()) << partial.error();
  EXPECT_EQ(partial->recovery.max_attempts, 1u);
  EXPECT_EQ(partial->recovery.dead_after, RecoverySpec{}.dead_after);
  EXPECT_EQ(partial->recovery.election_delay, RecoverySpec{}.election_delay);
}

TEST_F(ScenarioTest, DefaultsHaveNoFaultsAndDefaultRecovery) {
  for (const std::string& text : {std::string(default_scenario_yaml()), std::string(kMinimal)}) {
    auto s = load_scenario_text(text, "<default>");
    ASSERT_TRUE(s.ok()) << s.error();
    EXPECT_TRUE(s->faults.empty());
    const RecoverySpec d;
    const RecoverySpec& r = s->recovery;
    EXPECT_EQ(r.heartbeat_interval, d.heartbeat_interval);
    EXPECT_EQ(r.suspect_after, d.suspect_after);
    EXPECT_EQ(r.dead_after, d.dead_after);
    EXPECT_EQ(r.max_attempts, d.max_attempts);
    EXPECT_EQ(r.retry_backoff, d.retry_backoff);
    EXPECT_EQ(r.task_timeout, d.task_timeout);
    EXPECT_EQ(r.quarantine_after, d.quarantine_after);
    EXPECT_EQ(r.quarantine_window, d.quarantine_window);
    EXPECT_EQ(r.quarantine_for, d.quarantine_for);
    EXPECT_EQ(r.backlog_alert, d.backlog_alert);
    EXPECT_EQ(r.election_delay, d.election_delay);
    EXPECT_EQ(r.reconcile_grace, d.reconcile_grace);
  }
  auto empty = load_scenario_text(std::string(kMinimal) + "faults: []\n", "mem.yaml");
  ASSERT_TRUE(empty.ok()) << empty.error();
  EXPECT_TRUE(empty->faults.empty());
}

// Lines 1-6; fault entries start on line 7.
constexpr const char* kFaultCluster =
    "cluster:\n"
    "  hosts:\n"
    "    - {name: fast, count: 8}\n"
    "    - {name: slow, count: 8}\n"
    "workload: {rate: 5, tasks: 10}\n"
    "faults:\n";

TEST_F(ScenarioTest, FaultsOfEveryKind) {
  using K = FaultSpec::Kind;
  const std::string path = write("f.yaml", R"(cluster:
  hosts:
    - {name: fast, count: 8, speed: 2e9, slots: 2}
    - {count: 4}
    - {name: db}
workload: {rate: 5, tasks: 10}
recovery: {election_delay: 5}
faults:
  - {kind: crash, host: fast-3, at: 10, recover_after: 20}
  - {kind: crash, group: w, at: 40}
  - {kind: slowdown, fraction: 0.25, at: 5, factor: 4, duration: 30}
  - {kind: link, host: db, at: 12, duration: 3, cut: true}
  - {kind: link, group: fast, at: 15.5, duration: 2, factor: 10}
  - kind: pause
    host: w-3
    at: 20
    duration: 5
  - {kind: leader_kill, at: 60}
  - {kind: leader_kill, at: 65.5}
  - {kind: random, mtbf: 100, mttr: 10}
  - {kind: random, group: fast, at: 5, mtbf: 50, mttr: 5, until: 500}
  - {kind: crash, host: fast-3, at: 30}
  - {kind: link, fraction: 1, at: 0, duration: 1, cut: false, factor: 1.5}
)");
  auto s = load_scenario_file(path);
  ASSERT_TRUE(s.ok()) << s.error();
  const std::vector<FaultSpec>& f = s->faults;
  ASSERT_EQ(f.size(), 12u);
  const FaultSpec d;

  EXPECT_EQ(f[0].kind, K::kCrash);
  EXPECT_EQ(f[0].host, "fast-3");
  EXPECT_EQ(f[0].group, "");
  EXPECT_EQ(f[0].fraction, 0);
  EXPECT_EQ(f[0].at, 10);
  EXPECT_EQ(f[0].recover_after, 20);
  EXPECT_EQ(f[0].line, 9);

  EXPECT_EQ(f[1].kind, K::kCrash);
  EXPECT_EQ(f[1].group, "w");
  EXPECT_EQ(f[1].host, "");
  EXPECT_EQ(f[1].at, 40);
  EXPECT_EQ(f[1].recover_after, d.recover_after);  // never recovers
  EXPECT_EQ(f[1].line, 10);

  EXPECT_EQ(f[2].kind, K::kSlowdown);
  EXPECT_EQ(f[2].fraction, 0.25);
  EXPECT_EQ(f[2].at, 5);
  EXPECT_EQ(f[2].factor, 4);
  EXPECT_EQ(f[2].duration, 30);
  EXPECT_EQ(f[2].line, 11);

  EXPECT_EQ(f[3].kind, K::kLink);
  EXPECT_EQ(f[3].host, "db");
  EXPECT_EQ(f[3].at, 12);
  EXPECT_EQ(f[3].duration, 3);
  EXPECT_TRUE(f[3].cut);
  EXPECT_EQ(f[3].factor, 1);
  EXPECT_EQ(f[3].line, 12);

  EXPECT_EQ(f[4].kind, K::kLink);
  EXPECT_EQ(f[4].group, "fast");
  EXPECT_EQ(f[4].at, 15.5);
  EXPECT_EQ(f[4].duration, 2);
  EXPECT_FALSE(f[4].cut);
  EXPECT_EQ(f[4].factor, 10);
  EXPECT_EQ(f[4].line, 13);

  EXPECT_EQ(f[5].kind, K::kPause);
  EXPECT_EQ(f[5].host, "w-3");
  EXPECT_EQ(f[5].at, 20);
  EXPECT_EQ(f[5].duration, 5);
  EXPECT_EQ(f[5].line, 14);  // a block map: the line of its first key

  EXPECT_EQ(f[6].kind, K::kLeaderKill);
  EXPECT_EQ(f[6].at, 60);
  EXPECT_EQ(f[6].host, "");
  EXPECT_EQ(f[6].group, "");
  EXPECT_EQ(f[6].fraction, 0);
  EXPECT_EQ(f[6].line, 18);
  EXPECT_EQ(f[7].kind, K::kLeaderKill);
  EXPECT_EQ(f[7].at, 65.5);
  EXPECT_EQ(f[7].line, 19);

  EXPECT_EQ(f[8].kind, K::kRandom);  // every host, from 0, for ever
  EXPECT_EQ(f[8].host, "");
  EXPECT_EQ(f[8].group, "");
  EXPECT_EQ(f[8].fraction, 0);
  EXPECT_EQ(f[8].at, 0);
  EXPECT_EQ(f[8].mtbf, 100);
  EXPECT_EQ(f[8].mttr, 10);
  EXPECT_EQ(f[8].until, kNever);
  EXPECT_EQ(f[8].line, 20);

  EXPECT_EQ(f[9].kind, K::kRandom);
  EXPECT_EQ(f[9].group, "fast");
  EXPECT_EQ(f[9].at, 5);
  EXPECT_EQ(f[9].mtbf, 50);
  EXPECT_EQ(f[9].mttr, 5);
  EXPECT_EQ(f[9].until, 500);
  EXPECT_EQ(f[9].line, 21);

  // fast-3 is back up at 30 (recovery before crash at the same instant: the earlier
  // entry's events come first).
  EXPECT_EQ(f[10].kind, K::kCrash);
  EXPECT_EQ(f[10].at, 30);
  EXPECT_EQ(f[11].kind, K::kLink);
  EXPECT_EQ(f[11].fraction, 1);
  EXPECT_FALSE(f[11].cut);
  EXPECT_EQ(f[11].factor, 1.5);
}

TEST_F(ScenarioTest, FaultErrorsNameFileLineAndPath) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      // Shape.
      {"  - crash\n", "x.yaml:7: faults[0]: must be a map such as {kind: crash, host: w-0, at: 10}, got crash"},
      {"  - {kind: crash, host: fast-0, at: 1, hots: 2}\n", "x.yaml:7: faults[0]: unknown key 'hots' (known: kind,"},
      {"  - {host: fast-0, at: 1}\n",
       "x.yaml:7: faults[0]: missing required key 'kind' (one of crash, slowdown, link, pause, leader_kill, random, "
       "zone_outage)"},
      {"  - {kind: crash, host: fast-0, at: 1}\n  - {kind: explode, at: 1}\n",
       "x.yaml:8: faults[1].kind: unknown fault kind 'explode' (known: crash, slowdown, link, pause, leader_kill, "
       "random, zone_outage)"},
      {"  - {kind: crash, host: fast-0, at: 1, factor: 2}\n",
       "x.yaml:7: faults[0]: key 'factor' does not apply to kind crash (its keys: kind, host, group, fraction, at, "
       "recover_after)"},
      {"  - {kind: pause, host: fast-0, at: 1, duration: 1, cut: true}\n",
       "x.yaml:7: faults[0]: key 'cut' does not apply to kind pause (its keys: kind, host, group, fraction, at, "
       "duration)"},
      // Targets.
      {"  - {kind: leader_kill, host: fast-0, at: 1}\n",
       "x.yaml:7: faults[0]: key 'host' does not apply to kind leader_kill (its keys: kind, at)"},
      {"  - {kind: crash, at: 1}\n", "x.yaml:7: faults[0]: kind crash needs a target: host, group or fraction"},
      {"  - {kind: slowdown, at: 1, factor: 2, duration: 1}\n",
       "x.yaml:7: faults[0]: kind slowdown needs a target: host, group or fraction"},
      {"  - {kind: crash, host: fast-0, group: slow, at: 1}\n",
       "x.yaml:7: faults[0]: give one target: host, group or fraction, not several"},
      {"  - {kind: random, group: slow, fraction: 0.5, mtbf: 1, mttr: 1}\n",
       "x.yaml:7: faults[0]: give one target: host, group or fraction, not several"},
      {"  - {kind: crash, host: w-99, at: 1}\n",
       "x.yaml:7: faults[0].host: unknown host 'w-99' (hosts are fast-0..fast-7, slow-0..slow-7)"},
      {"  - {kind: crash, host: fast-8, at: 1}\n", "x.yaml:7: faults[0].host: unknown host 'fast-8'"},
      {"  - {kind: crash, host: fast-03, at: 1}\n", "x.yaml:7: faults[0].host: unknown host 'fast-03'"},
      {"  - {kind: crash, host: fast, at: 1}\n", "x.yaml:7: faults[0].host: unknown host 'fast'"},
      {"  - {kind: crash, group: medium, at: 1}\n",
       "x.yaml:7: faults[0].group: unknown group 'medium' (groups are fast, slow)"},
      {"  - {kind: crash, fraction: 0, at: 1}\n",
       "x.yaml:7: faults[0].fraction: must be a fraction of the hosts, 0 < F <= 1, got 0"},
      {"  - {kind: crash, fraction: 1.5, at: 1}\n",
       "x.yaml:7: faults[0].fraction: must be a fraction of the hosts, 0 < F <= 1, got 1.5"},
      // Times and parameters.
      {"  - {kind: crash, host: fast-0}\n", "x.yaml:7: faults[0]: missing required key 'at'"},
      {"  - {kind: leader_kill}\n", "x.yaml:7: faults[0]: missing required key 'at'"},
      {"  - {kind: crash, host: fast-0, at: -1}\n", "x.yaml:7: faults[0].at: must be a number of seconds >= 0, got -1"},
      {"  - {kind: random, mtbf: 1, mttr: 1, at: -5}\n",
       "x.yaml:7: faults[0].at: must be a number of seconds >= 0, got -5"},
      {"  - {kind: crash, host: fast-0, at: 1, recover_after: 0}\n",
       "x.yaml:7: faults[0].recover_after: must be a positive number of seconds, got 0"},
      {"  - {kind: slowdown, host: fast-0, at: 1, factor: 1, duration: 1}\n",
       "x.yaml:7: faults[0].factor: must be a number > 1 (tasks take factor times longer), got 1"},
      {"  - {kind: slowdown, host: fast-0, at: 1, factor: 2}\n", "x.yaml:7: faults[0]: missing required key 'duration'"},
      {"  - {kind: slowdown, host: fast-0, at: 1, duration: 2}\n", "x.yaml:7: faults[0]: missing required key 'factor'"},
      {"  - {kind: link, host: fast-0, at: 1, duration: 2}\n",
       "x.yaml:7: faults[0]: kind link needs cut: true (the link is down) or factor (> 1: latency x factor)"},
      {"  - {kind: link, host: fast-0, at: 1, duration: 2, cut: false}\n", "x.yaml:7: faults[0]: kind link needs cut"},
      {"  - {kind: link, host: fast-0, at: 1, duration: 2, cut: true, factor: 3}\n",
       "x.yaml:7: faults[0]: give either cut: true or factor, not both"},
      {"  - {kind: link, host: fast-0, at: 1, duration: 2, cut: yes}\n",
       "x.yaml:7: faults[0].cut: must be true or false, got yes"},
      {"  - {kind: link, host: fast-0, at: 1, duration: 2, factor: 0.5}\n",
       "x.yaml:7: faults[0].factor: must be a number > 1 (latency x factor), got 0.5"},
      {"  - {kind: link, host: fast-0, at: 1, cut: true}\n", "x.yaml:7: faults[0]: missing required key 'duration'"},
      {"  - {kind: pause, host: fast-0, at: 1, duration: 0}\n",
       "x.yaml:7: faults[0].duration: must be a positive number of seconds, got 0"},
      {"  - {kind: random, mtbf: 10}\n", "x.yaml:7: faults[0]: missing required key 'mttr'"},
      {"  - {kind: random, mtbf: 0, mttr: 1}\n", "x.yaml:7: faults[0].mtbf: must be a positive number of seconds"},
      {"  - {kind: random, at: 10, mtbf: 5, mttr: 1, until: 10}\n",
       "x.yaml:7: faults[0].until: must be greater than at (10), got 10"},
      // Impossible timelines: the later entry is refused, naming the earlier one's line.
      {"  - {kind: crash, host: fast-1, at: 10}\n"
       "  - {kind: slowdown, host: fast-1, at: 5, factor: 2, duration: 1}\n"
       "  - {kind: crash, host: fast-1, at: 50}\n",
       "x.yaml:9: faults[2]: crashes host 'fast-1' (down from 50 for good) while faults[0] (line 7) has it down "
       "from 10 for good; a host that is down cannot crash again"},
      {"  - {kind: crash, group: fast, at: 10, recover_after: 30}\n  - {kind: crash, host: fast-2, at: 20}\n",
       "x.yaml:8: faults[1]: crashes host 'fast-2' (down from 20 for good) while faults[0] (line 7) has it down "
       "from 10 to 40"},
      {"  - {kind: crash, host: slow-0, at: 50}\n  - {kind: crash, host: slow-0, at: 10, recover_after: 45}\n",
       "x.yaml:8: faults[1]: crashes host 'slow-0' (down from 10 to 55) while faults[0] (line 7) has it down from "
       "50 for good"},
      // At the same instant, the earlier entry's crash comes before the later one's recovery.
      {"  - {kind: crash, host: slow-0, at: 50}\n  - {kind: crash, host: slow-0, at: 10, recover_after: 40}\n",
       "x.yaml:8: faults[1]: crashes host 'slow-0'"},
      {"  - {kind: crash, group: slow, at: 1}\n  - {kind: crash, group: slow, at: 2}\n",
       "x.yaml:8: faults[1]: crashes the hosts of group 'slow'"},
      {"  - {kind: crash, fraction: 0.5, at: 1}\n  - {kind: crash, fraction: 0.6, at: 2, recover_after: 1}\n",
       "x.yaml:8: faults[1]: crashes at least one host"},
      {"  - {kind: crash, host: slow-3, at: 1}\n  - {kind: crash, fraction: 1, at: 2}\n",
       "x.yaml:8: faults[1]: crashes host 'slow-3'"},
      {"  - {kind: leader_kill, at: 10}\n  - {kind: crash, host: fast-0, at: 10}\n  - {kind: leader_kill, at: 11}\n",
       "x.yaml:9: faults[2]: leader_kill at 11 is within recovery.election_delay (2) of the leader_kill of "
       "faults[0] (line 7) at 10"},
      {"  - {kind: leader_kill, at: 12}\n  - {kind: leader_kill, at: 10}\n",
       "x.yaml:8: faults[1]: leader_kill at 10 is within recovery.election_delay (2)"},
  };
  for (const auto& [faults, message] : cases) {
    const std::string e = error_of(std::string(kFaultCluster) + faults);
    EXPECT_NE(e.find(message), std::string::npos) << faults << "-> " << e;
  }

  // Recovery settings bear on the leader_kill spacing.
  const std::string spaced = std::string(kFaultCluster) + "  - {kind: leader_kill, at: 10}\n  - {kind: leader_kill, at: 13}\n";
  EXPECT_EQ(error_of(spaced), "");
  const std::string e = error_of(spaced + "recovery: {election_delay: 5}\n");
  EXPECT_NE(e.find("x.yaml:8: faults[1]: leader_kill at 13 is within recovery.election_delay (5)"), std::string::npos)
      << e;

  const std::vector<std::pair<std::string, std::string>> whole = {
      {"cluster: {hosts: [{count: 2}]}\nworkload: {rate: 5, tasks: 10}\nfaults: {kind: crash, host: w-0, at: 1}\n",
       "x.yaml:3: faults: must be a list of faults such as [{kind: crash, host: w-0, at: 10}], got a map"},
      {"cluster: {hosts: [{count: 2}]}\nworkload: {rate: 5, tasks: 10}\nfaults:\n",
       "x.yaml:3: faults: must be a list of faults"},
  };
  for (const auto& [text, message] : whole) {
    const std::string w = error_of(text);
    EXPECT_NE(w.find(message), std::string::npos) << text << "-> " << w;
  }
}

TEST_F(ScenarioTest, FaultsThatArePossible) {
  // Crashes of different hosts, or after a recovery; fractions that may miss each other;
  // a recovery at the instant of the next crash when listed first.
  const std::string ok = std::string(kFaultCluster) +
                         "  - {kind: crash, host: fast-1, at: 10, recover_after: 40}\n"
                         "  - {kind: crash, host: fast-1, at: 50}\n"
                         "  - {kind: crash, host: fast-2, at: 10}\n"
                         "  - {kind: crash, group: slow, at: 10, recover_after: 5}\n"
                         "  - {kind: crash, host: slow-1, at: 15}\n"
                         "  - {kind: crash, fraction: 0.5, at: 100}\n"
                         "  - {kind: crash, fraction: 0.5, at: 100}\n"
                         "  - {kind: pause, host: fast-1, at: 12, duration: 100}\n"
                         "  - {kind: leader_kill, at: 0}\n"
                         "  - {kind: leader_kill, at: 2.5}\n";
  EXPECT_EQ(error_of(ok), "");
}

TEST_F(ScenarioTest, RecoveryErrorsNameFileLineAndPath) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"recovery:\n  dead_after: 2\n  suspect_after: 3\n",
       "x.yaml:5: recovery.dead_after: must be greater than suspect_after (3), got 2"},
      {"recovery: {suspect_after: 4, dead_after: 4}\n",
       "x.yaml:4: recovery.dead_after: must be greater than suspect_after (4), got 4"},
      {"recovery:\n  suspect_after: 10\n",
       "x.yaml:5: recovery.suspect_after: must be less than dead_after (6, the default), got 10"},
      {"recovery: {heartbeat_interval: 0}\n",
       "x.yaml:4: recovery.heartbeat_interval: must be a positive number of seconds, got 0"},
      {"recovery: {suspect_after: -1}\n", "x.yaml:4: recovery.suspect_after: must be a positive number of seconds"},
      {"recovery: {max_attempts: 0}\n", "x.yaml:4: recovery.max_attempts: must be a positive integer, got 0"},
      {"recovery: {max_attempts: 1.5}\n", "x.yaml:4: recovery.max_attempts: must be a positive integer, got 1.5"},
      {"recovery: {max_attempts: 1e10}\n", "x.yaml:4: recovery.max_attempts: must be at most 4294967295"},
      {"recovery: {retry_backoff: -1}\n", "x.yaml:4: recovery.retry_backoff: must be a number of seconds >= 0, got -1"},
      {"recovery: {task_timeout: -1}\n", "x.yaml:4: recovery.task_timeout: must be a number of seconds >= 0 (0: none)"},
      {"recovery: {quarantine_after: 0}\n", "x.yaml:4: recovery.quarantine_after: must be a positive integer, got 0"},
      {"recovery: {quarantine_window: 0}\n",
       "x.yaml:4: recovery.quarantine_window: must be a positive number of seconds, got 0"},
      {"recovery: {quarantine_for: -2}\n", "x.yaml:4: recovery.quarantine_for: must be a number of seconds >= 0"},
      {"recovery: {backlog_alert: -1}\n", "x.yaml:4: recovery.backlog_alert: must be an integer >= 0 (0: never), got -1"},
      {"recovery: {election_delay: -1}\n", "x.yaml:4: recovery.election_delay: must be a number of seconds >= 0"},
      {"recovery: {reconcile_grace: .nan}\n", "x.yaml:4: recovery.reconcile_grace: must be a number of seconds >= 0"},
      {"recovery: {heartbeat: 1}\n", "x.yaml:4: recovery: unknown key 'heartbeat' (known: heartbeat_interval,"},
      {"recovery: 5\n", "x.yaml:4: recovery: must be a map (keys: heartbeat_interval, suspect_after, dead_after,"},
  };
  for (const auto& [recovery, message] : cases) {
    const std::string e = error_of(std::string(kMinimal) + recovery);
    EXPECT_NE(e.find(message), std::string::npos) << recovery << "-> " << e;
  }
}

// With a platform file host and group names are only known to the simulator.
TEST_F(ScenarioTest, FaultsWithPlatformAcceptAnyName) {
  write("p.xml", "<platform version=\"4.1\"/>\n");
  const std::string path = write("x.yaml", R"(cluster: {platform: p.xml}
workload: {rate: 1, tasks: 1}
faults:
  - {kind: crash, host: Tremblay, at: 1}
  - {kind: pause, group: anything, at: 2, duration: 1}
  - {kind: crash, host: Jupiter, at: 1}
)");
  auto s = load_scenario_file(path);
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_EQ(s->faults.size(), 3u);
  EXPECT_EQ(s->faults[0].host, "Tremblay");
  EXPECT_EQ(s->faults[1].group, "anything");
  // Still refused: the same named host down twice, an empty name.
  const std::string twice = error_of(
      "cluster: {platform: p.xml}\nworkload: {rate: 1, tasks: 1}\nfaults:\n  - {kind: crash, host: Tremblay, at: 1}\n"
      "  - {kind: crash, host: Tremblay, at: 2}\n");
  EXPECT_NE(twice.find("x.yaml:5: faults[1]: crashes host 'Tremblay' (down from 2 for good) while faults[0] (line 4)"),
            std::string::npos)
      << twice;
  const std::string empty = error_of("cluster: {platform: p.xml}\nworkload: {rate: 1, tasks: 1}\nfaults:\n"
                                     "  - {kind: crash, host: '', at: 1}\n");
  EXPECT_NE(empty.find("x.yaml:4: faults[0].host: must be a host name"), std::string::npos) << empty;
}

TEST_F(ScenarioTest, FaultOverrides) {
  const std::string path = write("o.yaml", std::string(kFaultCluster) + "  - {kind: crash, host: fast-0, at: 10}\n");
  {
    auto s = load_scenario_file(path, {"faults[0].at=5", "faults.0.recover_after=2", "recovery.dead_after=9"});
    ASSERT_TRUE(s.ok()) << s.error();
    ASSERT_EQ(s->faults.size(), 1u);
    EXPECT_EQ(s->faults[0].at, 5);
    EXPECT_EQ(s->faults[0].recover_after, 2);
    EXPECT_EQ(s->faults[0].line, 7);  // the entry itself is still the file's
    EXPECT_EQ(s->recovery.dead_after, 9);
  }
  {
    // An appended entry has no line.
    auto s = load_scenario_file(path, {"faults[1]={kind: leader_kill, at: 100}"});
    ASSERT_TRUE(s.ok()) << s.error();
    ASSERT_EQ(s->faults.size(), 2u);
    EXPECT_EQ(s->faults[1].kind, FaultSpec::Kind::kLeaderKill);
    EXPECT_EQ(s->faults[1].line, 0);
  }
  {
    // An empty scenario with faults only from overrides.
    auto s = load_scenario_text("", "empty.yaml",
                                {"cluster.hosts=[{count: 3}]", "workload={rate: 1, tasks: 1}",
                                 "faults=[{kind: pause, host: w-2, at: 1, duration: 2}]"});
    ASSERT_TRUE(s.ok()) << s.error();
    ASSERT_EQ(s->faults.size(), 1u);
    EXPECT_EQ(s->faults[0].host, "w-2");
    EXPECT_EQ(s->faults[0].line, 0);
  }
  auto error = [&](const std::vector<std::string>& o) {
    auto s = load_scenario_file(path, o);
    return s.ok() ? std::string() : s.error();
  };
  EXPECT_EQ(error({"faults[0].at=-1"}),
            path + " (--set faults[0].at=-1): faults[0].at: must be a number of seconds >= 0, got -1");
  EXPECT_EQ(error({"faults[0].host=w-99"}),
            path + " (--set faults[0].host=w-99): faults[0].host: unknown host 'w-99' (hosts are fast-0..fast-7, "
                   "slow-0..slow-7)");
  EXPECT_EQ(error({"faults[1]={kind: crash, host: fast-0, at: 20}"}),
            path + " (--set faults[1]={kind: crash, host: fast-0, at: 20}): faults[1]: crashes host 'fast-0' (down "
                   "from 20 for good) while faults[0] (line 7) has it down from 10 for good; a host that is down "
                   "cannot crash again");
  EXPECT_EQ(error({"recovery.suspect_after=7"}),
            path + " (--set recovery.suspect_after=7): recovery.suspect_after: must be less than dead_after (6, the "
                   "default), got 7");
}

TEST_F(ScenarioTest, TooManyFaults) {
  std::string text = "cluster: {hosts: [{count: 2}]}\nworkload: {rate: 1, tasks: 1}\nfaults:\n";
  for (int i = 0; i < 10001; ++i) text += "  - {kind: pause, host: w-0, at: " + std::to_string(i) + ", duration: 0.5}\n";
  auto s = load_scenario_text(text, "big.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("big.yaml:3: faults: too many faults: 10001, at most 10000"), std::string::npos)
      << s.error();
}

// ---- resources, labels, zones (issue 16) ----------------------------------------------------

constexpr double kGiB = 1024.0 * 1024 * 1024;

TEST(ParseBytes, PlainBytesAndKubernetesUnits) {
  const std::vector<std::pair<std::string, double>> good = {
      {"1024", 1024},      {"1e9", 1e9},           {"0", 0},
      {"512MiB", 512.0 * 1024 * 1024},             {"512Mi", 512.0 * 1024 * 1024},
      {"4GiB", 4 * kGiB},  {"4 GiB", 4 * kGiB},    {"4G", 4e9},
      {"4GB", 4e9},        {"1.5GB", 1.5e9},       {"100M", 1e8},
      {"64KiB", 65536},    {"64k", 64000},         {"64K", 64000},
      {"2TiB", 2 * 1024 * kGiB},                   {"1T", 1e12},
      {"3B", 3},           {"1.1B", 2},            {"0.5KiB", 512},
      {"4EB", 4e18},       {"1Ei", 0x1p60},        {"1E5", 1e5},
  };
  for (const auto& [text, bytes] : good) {
    auto v = parse_bytes(text);
    ASSERT_TRUE(v.ok()) << text << ": " << v.error();
    EXPECT_EQ(*v, bytes) << text;
  }
  for (const char* bad : {"4Gb", "4gib", "512m", "GiB", "", "-1G", "4 G B", "4  GiB", "4GiBs", "abc", "inf", "nan",
                          "1e999"}) {
    auto v = parse_bytes(bad);
    EXPECT_FALSE(v.ok()) << bad << " parsed as " << (v.ok() ? *v : 0);
  }
  auto unit = parse_bytes("4Gb");
  ASSERT_FALSE(unit.ok());
  EXPECT_NE(unit.error().find("unknown unit 'Gb'"), std::string::npos) << unit.error();
}

TEST_F(ScenarioTest, HostResourcesLabelsAndZones) {
  auto s = load_scenario_file(write("x.yaml", R"(cluster:
  zones:
    eu: {latency: 0.02, bandwidth: 1e9}
    us: {}
  hosts:
    - {name: big, count: 2, resources: {cores: 16, memory: 64GiB, gpus: 2, licence: 4},
       labels: {disk: ssd, arch: arm, rack: 3}, zone: eu}
    - {name: small, count: 3, slots: 2, resources: {memory: 4G}, zone: us}
    - {name: plain}
workload: {rate: 5, tasks: 10}
queue: skip_ahead
)"));
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_EQ(s->cluster.zones.size(), 2u);
  EXPECT_EQ(s->cluster.zones[0].name, "eu");
  EXPECT_EQ(s->cluster.zones[0].latency, 0.02);
  EXPECT_EQ(s->cluster.zones[0].bandwidth, 1e9);
  EXPECT_EQ(s->cluster.zones[1].name, "us");
  EXPECT_EQ(s->cluster.zones[1].latency, ZoneSpec{}.latency);
  EXPECT_EQ(s->cluster.zone_names(), (std::vector<std::string>{"eu", "us"}));
  const HostGroup& big = s->cluster.groups[0];
  EXPECT_EQ(big.slots, 16);
  EXPECT_EQ(big.resources.memory, 64 * kGiB);
  EXPECT_EQ(big.resources.gpus, 2);
  EXPECT_EQ(big.resources.other, (std::map<std::string, double>{{"licence", 4}}));
  EXPECT_EQ(big.labels, (std::map<std::string, std::string>{{"disk", "ssd"}, {"arch", "arm"}, {"rack", "3"}}));
  EXPECT_EQ(big.zone, "eu");
  EXPECT_EQ(s->cluster.groups[1].slots, 2);
  EXPECT_EQ(s->cluster.groups[1].resources.memory, 4e9);
  EXPECT_EQ(s->queue, "skip_ahead");

  const std::vector<WorkerSpec> workers = worker_specs(s->cluster);
  ASSERT_EQ(workers.size(), 6u);
  EXPECT_EQ(workers[1].name, "big-1");
  EXPECT_EQ(workers[1].capacity(), (Resources{.cores = 16, .memory = 64 * kGiB, .gpus = 2, .other = {{"licence", 4}}}));
  EXPECT_EQ(workers[1].labels.at("disk"), "ssd");
  EXPECT_EQ(workers[1].zone, "eu");
  EXPECT_EQ(workers[4].zone, "us");
  EXPECT_EQ(workers[4].capacity(), (Resources{.cores = 2, .memory = 4e9}));
  EXPECT_EQ(workers[5].zone, "");
  EXPECT_EQ(workers[5].capacity(), (Resources{.cores = 1}));

  // Without cluster.zones, host groups' zones are the cluster's zones.
  auto implicit = load_scenario_text("cluster:\n  hosts: [{name: a, zone: z1}, {name: b, zone: z2}, {name: c, zone: z1}]\n"
                                     "workload: {rate: 1, tasks: 1, require: {zone: z2}}\n", "y.yaml");
  ASSERT_TRUE(implicit.ok()) << implicit.error();
  EXPECT_EQ(implicit->cluster.zone_names(), (std::vector<std::string>{"z1", "z2"}));
  EXPECT_EQ(implicit->queue, "strict");
}

TEST_F(ScenarioTest, SlotsAreCores) {
  auto both = load_scenario_text("cluster:\n  hosts: [{slots: 4, resources: {cores: 4}}]\nworkload: {rate: 1, tasks: 1}\n",
                                 "y.yaml");
  ASSERT_TRUE(both.ok()) << both.error();
  EXPECT_EQ(both->cluster.groups[0].slots, 4);
  EXPECT_NE(error_of("cluster:\n  hosts:\n    - {slots: 4,\n       resources: {cores: 8}}\nworkload: {rate: 1, tasks: 1}\n")
                .find("x.yaml:4: cluster.hosts[0].resources.cores: is 8 but slots is 4"),
            std::string::npos);
}

TEST_F(ScenarioTest, BadHostResourcesNameFileLineAndKey) {
  const std::string head = "workload: {rate: 5, tasks: 10}\ncluster:\n  hosts:\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"    - {count: 2, resources: {memory: 4Gb}}\n",
       "x.yaml:4: cluster.hosts[0].resources.memory: must be a size in bytes such as 512MiB, 4GiB or 4G (G = 10^9, "
       "Gi = 2^30): '4Gb': unknown unit 'Gb'"},
      {"    - {resources: {memory: 512m}}\n", "x.yaml:4: cluster.hosts[0].resources.memory: must be a size in bytes"},
      {"    - {resources: {memory: [1]}}\n", "x.yaml:4: cluster.hosts[0].resources.memory: must be a size in bytes"},
      {"    - {resources: {gpus: -1}}\n", "x.yaml:4: cluster.hosts[0].resources.gpus: must be a number of GPUs >= 0"},
      {"    - {resources: {cores: 1.5}}\n", "x.yaml:4: cluster.hosts[0].resources.cores: must be a positive integer"},
      {"    - {resources: {slots: 2}}\n", "x.yaml:4: cluster.hosts[0].resources: give slots beside resources"},
      {"    - {resources: {bad name: 2}}\n",
       "x.yaml:4: cluster.hosts[0].resources: a resource's name must be a name of letters, digits"},
      {"    - {resources: {licence: lots}}\n", "x.yaml:4: cluster.hosts[0].resources.licence: must be an amount >= 0"},
      {"    - {resources: 4}\n", "x.yaml:4: cluster.hosts[0].resources: must be a map such as {cores: 16"},
      {"    - {count: 1}\n    - {labels: {\"disk type\": ssd}}\n",
       "x.yaml:5: cluster.hosts[1].labels: a label's name must be a name of letters, digits"},
      {"    - {labels: {-disk: ssd}}\n", "x.yaml:4: cluster.hosts[0].labels: a label's name must be a name"},
      {"    - {labels: {disk: [ssd, hdd]}}\n",
       "x.yaml:4: cluster.hosts[0].labels.disk: must be a label value (a name, number or boolean), got a list"},
      {"    - {labels: {disk: }}\n", "x.yaml:4: cluster.hosts[0].labels.disk: must be a label value"},
      {"    - {labels: {disk: \"s s d\"}}\n", "x.yaml:4: cluster.hosts[0].labels.disk: a label's value must be a name"},
      {"    - {labels: {zone: eu}}\n", "x.yaml:4: cluster.hosts[0].labels: zone is not a label"},
      {"    - {labels: [disk]}\n", "x.yaml:4: cluster.hosts[0].labels: must be a map such as {disk: ssd, arch: arm}"},
      {"    - {zone: \"e u\"}\n", "x.yaml:4: cluster.hosts[0].zone: a zone must be a name"},
      {"    - {zone: eu}\n    - {zone: asia}\n  zones: {eu: {}, us: {}}\n",
       "x.yaml:5: cluster.hosts[1].zone: unknown zone 'asia' (cluster.zones declares eu, us)"},
      {"    - {zone: eu}\n  zones: {eu: {lat: 1}}\n", "x.yaml:5: cluster.zones.eu: unknown key 'lat' (known: latency, bandwidth)"},
      {"    - {zone: eu}\n  zones: {eu: {latency: -1}}\n", "x.yaml:5: cluster.zones.eu.latency: must be a number of seconds >= 0"},
      {"    - {zone: eu}\n  zones: {eu: {bandwidth: 0}}\n", "x.yaml:5: cluster.zones.eu.bandwidth: must be a positive"},
      {"    - {zone: eu}\n  zones: {}\n", "x.yaml:5: cluster.zones: must declare at least one zone"},
      {"    - {zone: eu}\n  zones: [eu]\n", "x.yaml:5: cluster.zones: must be a map such as {eu: {latency"},
  };
  for (const auto& [hosts, message] : cases) {
    const std::string error = error_of(head + hosts);
    EXPECT_NE(error.find(message), std::string::npos) << hosts << " -> " << error;
  }
  EXPECT_NE(error_of("cluster:\n  platform: p.xml\n  zones: {eu: {}}\nworkload: {rate: 1, tasks: 1}\n").find("x.yaml:3: cluster.zones: only with hosts"),
            std::string::npos);
}

constexpr const char* kZoned =
    "cluster:\n"
    "  zones: {eu: {}, us: {}}\n"
    "  hosts:\n"
    "    - {name: a, count: 2, zone: eu, labels: {disk: ssd}, resources: {memory: 16GiB, gpus: 1}}\n"
    "    - {name: b, count: 2, zone: us}\n"
    "    - {name: c, count: 1, zone: eu}\n";

TEST_F(ScenarioTest, WorkloadResourcesRequireAndSpread) {
  auto s = load_scenario_text(std::string(kZoned) + R"(workload:
  rate: 5
  tasks: 10
  resources: {cores: 2, memory: 4GiB, gpus: 1, licence: 1}
  require: {disk: ssd, zone: eu}
  spread: zone
)", "y.yaml");
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_EQ(s->classes.size(), 1u);
  const TaskClass& c = s->classes[0];
  EXPECT_EQ(c.share, 1);
  EXPECT_FALSE(c.size.has_value());
  ASSERT_EQ(c.resources.size(), 4u);
  EXPECT_EQ(c.resources.at("cores").kind, SizeDistribution::Kind::kConstant);
  EXPECT_EQ(c.resources.at("cores").mean, 2);
  EXPECT_EQ(c.resources.at("memory").mean, 4 * kGiB);
  EXPECT_EQ(c.resources.at("gpus").mean, 1);
  EXPECT_EQ(c.resources.at("licence").mean, 1);
  EXPECT_EQ(c.require, (std::map<std::string, std::string>{{"disk", "ssd"}, {"zone", "eu"}}));
  EXPECT_EQ(c.spread, Spread::kZone);

  TaskClassStream tasks(s->classes, s->seed);
  const TaskSpec t = tasks.next(Arrival{1, 5e9});
  EXPECT_EQ(t.flops, 5e9);
  EXPECT_EQ(t.request, (Resources{.cores = 2, .memory = 4 * kGiB, .gpus = 1, .other = {{"licence", 1}}}));
  EXPECT_EQ(t.require, c.require);
  EXPECT_EQ(t.spread, Spread::kZone);

  // Distributions, in bytes for memory.
  auto d = load_scenario_text(std::string(kZoned) + R"(workload:
  rate: 5
  tasks: 10
  resources:
    cores: {dist: uniform, low: 1, high: 4}
    memory: {dist: uniform, low: 1GiB, high: 2GiB}
  spread: host
)", "y.yaml");
  ASSERT_TRUE(d.ok()) << d.error();
  ASSERT_EQ(d->classes.size(), 1u);
  const SizeDistribution& m = d->classes[0].resources.at("memory");
  EXPECT_EQ(m.kind, SizeDistribution::Kind::kUniform);
  EXPECT_EQ(m.low, kGiB);
  EXPECT_EQ(m.high, 2 * kGiB);
  TaskClassStream draws(d->classes, 3);
  for (int i = 0; i < 200; ++i) {
    const TaskSpec x = draws.next(Arrival{1, 1e9});
    EXPECT_GE(x.request.cores, 1);
    EXPECT_LE(x.request.cores, 4);
    EXPECT_GE(x.request.memory, kGiB);
    EXPECT_LE(x.request.memory, 2 * kGiB);
    EXPECT_EQ(x.request.memory, std::floor(x.request.memory));  // whole bytes
    EXPECT_EQ(x.spread, Spread::kHost);
  }

  // Without any of them every task is the default one.
  auto plain = load_scenario_text(std::string(kZoned) + "workload: {rate: 5, tasks: 10}\n", "y.yaml");
  ASSERT_TRUE(plain.ok()) << plain.error();
  EXPECT_TRUE(plain->classes.empty());
  TaskClassStream defaults(plain->classes, 1);
  const TaskSpec one = defaults.next(Arrival{1, 7e9});
  EXPECT_EQ(one.flops, 7e9);
  EXPECT_EQ(one.request, (Resources{.cores = 1}));
  EXPECT_TRUE(one.require.empty());
  EXPECT_EQ(one.spread, Spread::kNone);
}

TEST_F(ScenarioTest, TaskClassesAreDrawnByShareFromTheSeed) {
  auto s = load_scenario_text(std::string(kZoned) + R"(workload:
  rate: 5
  tasks: 10
  size: {dist: constant, value: 1e9}
  require: {zone: us}
  classes:
    - {share: 0.7, resources: {cores: 1, memory: 1GiB}}
    - {share: 0.3, resources: {cores: 4, memory: 8GiB, gpus: 1}, size: {dist: constant, value: 4e9},
       require: {zone: eu, disk: ssd}, spread: host}
)", "y.yaml");
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_EQ(s->classes.size(), 2u);
  EXPECT_EQ(s->classes[0].share, 0.7);
  EXPECT_EQ(s->classes[0].require, (std::map<std::string, std::string>{{"zone", "us"}}));  // the workload's
  EXPECT_FALSE(s->classes[0].size.has_value());
  EXPECT_EQ(s->classes[1].require, (std::map<std::string, std::string>{{"disk", "ssd"}, {"zone", "eu"}}));
  ASSERT_TRUE(s->classes[1].size.has_value());
  EXPECT_EQ(s->classes[1].size->mean, 4e9);

  const auto draw = [&](std::uint64_t seed) {
    TaskClassStream tasks(s->classes, seed);
    std::vector<TaskSpec> out;
    for (int i = 0; i < 10000; ++i) out.push_back(tasks.next(Arrival{double(i), 1e9}));
    return out;
  };
  const std::vector<TaskSpec> a = draw(7), b = draw(7), c = draw(8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  int big = 0;
  for (const TaskSpec& t : a) {
    if (t.request.cores == 4) {
      ++big;
      EXPECT_EQ(t.flops, 4e9);
      EXPECT_EQ(t.request, (Resources{.cores = 4, .memory = 8 * kGiB, .gpus = 1}));
      EXPECT_EQ(t.spread, Spread::kHost);
    } else {
      EXPECT_EQ(t.flops, 1e9);
      EXPECT_EQ(t.request, (Resources{.cores = 1, .memory = kGiB}));
      EXPECT_EQ(t.require.at("zone"), "us");
    }
  }
  EXPECT_NEAR(big / 10000.0, 0.3, 0.02);
}

TEST_F(ScenarioTest, BadRequestsNameFileLineAndKey) {
  const std::string head = std::string(kZoned) + "workload:\n  rate: 5\n  tasks: 10\n";  // workload at line 7
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"  resources: {memory: 4Gb}\n", "x.yaml:10: workload.resources.memory: must be a size in bytes"},
      {"  resources: {memory: {dist: uniform, low: 1GiB, high: 2gib}}\n",
       "x.yaml:10: workload.resources.memory.high: must be a size in bytes"},
      {"  resources: {cores: 0}\n", "x.yaml:10: workload.resources.cores: must be a positive number of cores"},
      {"  resources: {cores: {dist: exponential, mean: -2}}\n",
       "x.yaml:10: workload.resources.cores.mean: must be a positive number (cores)"},
      {"  resources: {gpus: {dist: zipf}}\n", "x.yaml:10: workload.resources.gpus.dist: unknown size dist 'zipf'"},
      {"  resources: {slots: 2}\n", "x.yaml:10: workload.resources: a task asks for cores, not slots"},
      {"  resources: {\"lic ence\": 1}\n", "x.yaml:10: workload.resources: a resource's name must be a name"},
      {"  require: {zone: mars}\n",
       "x.yaml:10: workload.require.zone: unknown zone 'mars' (the cluster's zones are eu, us)"},
      {"  require: {\"disk!\": ssd}\n", "x.yaml:10: workload.require: a label's name must be a name"},
      {"  require: {disk: {a: b}}\n", "x.yaml:10: workload.require.disk: must be a label value"},
      {"  spread: rack\n", "x.yaml:10: workload.spread: must be host, zone or none, got rack"},
      {"  classes: []\n", "x.yaml:10: workload.classes: must be a non-empty list of task classes"},
      {"  classes:\n    - {share: 0.5}\n    - {share: 0.4}\n",
       "x.yaml:10: workload.classes: the classes' shares must sum to 1, got 0.9"},
      {"  classes:\n    - {share: 1.5}\n", "x.yaml:11: workload.classes[0].share: must be a fraction, 0 < share <= 1"},
      {"  classes:\n    - {resources: {cores: 1}}\n", "x.yaml:11: workload.classes[0]: missing required key 'share'"},
      {"  classes:\n    - {share: 0.5}\n    - {share: 0.5, weight: 2}\n",
       "x.yaml:12: workload.classes[1]: unknown key 'weight' (known: share, size, resources, require, spread, "
       "tenant, priority_class)"},
      {"  classes:\n    - {share: 0.5}\n    - {share: 0.5, require: {zone: asia}}\n",
       "x.yaml:12: workload.classes[1].require.zone: unknown zone 'asia'"},
      {"  classes:\n    - {share: 1, size: {dist: uniform, low: 2}}\n",
       "x.yaml:11: workload.classes[0].size: missing required key 'high'"},
      {"  classes:\n    - {share: 1, resources: {memory: 1 GB B}}\n",
       "x.yaml:11: workload.classes[0].resources.memory: must be a size in bytes"},
  };
  for (const auto& [lines, message] : cases) {
    const std::string error = error_of(head + lines);
    EXPECT_NE(error.find(message), std::string::npos) << lines << " -> " << error;
  }
  // A zone with no zones at all.
  EXPECT_NE(error_of("cluster: {hosts: [{count: 2}]}\nworkload: {rate: 1, tasks: 1, require: {zone: eu}}\n")
                .find("x.yaml:2: workload.require.zone: unknown zone 'eu' (the cluster has no zones"),
            std::string::npos);
  // Not for file workloads: their tasks' requests come from the file.
  EXPECT_NE(error_of("cluster: {hosts: [{count: 2}]}\nworkload: {type: dag, file: a.json, resources: {cores: 2}}\n")
                .find("x.yaml:2: workload.resources: only for type poisson"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "queue: fifo\n").find("x.yaml:4: queue: must be strict or skip_ahead, got fifo"),
            std::string::npos);
}

TEST_F(ScenarioTest, TenantsDisciplinesAndPreemption) {
  auto s = load_scenario_file(write("x.yaml", std::string(kMinimal) + R"(tenants:
  research: {weight: 2, quota: {cores: 8, memory: 16GiB}, limit: {cores: 16, licence: 2}}
  batch: {}
discipline: drf
preemption: {grace: 5, victims: fail}
)"));
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_EQ(s->tenants.size(), 2u);
  EXPECT_EQ(s->tenants[0].name, "research");
  EXPECT_EQ(s->tenants[0].weight, 2);
  EXPECT_EQ(s->tenants[0].quota.memory, 16.0 * 1024 * 1024 * 1024);
  EXPECT_EQ(s->tenants[0].limit.other.at("licence"), 2);
  EXPECT_EQ(s->tenants[1].weight, 1);
  EXPECT_EQ(s->cluster.queue_cap, 0);  // fair sharing binds late
  const SchedulerConfig c = scheduler_config(*s, 2);
  EXPECT_EQ(c.fairness, SchedulerConfig::Fairness::kDrf);
  EXPECT_TRUE(c.preemption.enabled);
  EXPECT_EQ(c.preemption.grace, 5);
  EXPECT_FALSE(c.preemption.requeue);

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"discipline: drf:order=sjf\n", "x.yaml:4: discipline: discipline drf takes no parameters"},
      {"discipline: wfq\n", "unknown discipline 'wfq' (known: fifo, fcfs, easy, conservative, drf, fair)"},
      {"preemption: {grace: 5}\n", "x.yaml:4: preemption: needs a fair-sharing discipline"},
      {"discipline: fair\npreemption: {grace: -1}\n", "x.yaml:5: preemption.grace: must be a number of seconds >= 0"},
      {"discipline: fair\npreemption: {victims: kill}\n", "x.yaml:5: preemption.victims: must be requeue or fail"},
      {"tenants: {a: {weight: 0}}\n", "x.yaml:4: tenants.a.weight: must be a positive weight"},
      {"tenants: {a: {share: 1}}\n", "x.yaml:4: tenants.a: unknown key 'share' (known: weight, quota, limit)"},
      {"tenants: {a: {quota: {cores: 8}, limit: {cores: 4}}}\n",
       "quota of cores (8) is above its limit (4): a guarantee cannot exceed a ceiling"},
      {"tenants: {a: {quota: {memory: lots}}}\n", "x.yaml:4: tenants.a.quota.memory: must be a size in bytes"},
      {"tenants: {\"a b\": {}}\n", "x.yaml:4: tenants: a tenant must be a name"},
      {"tenants: {}\n", "x.yaml:4: tenants: must declare at least one tenant"},
  };
  for (const auto& [lines, message] : cases) {
    const std::string error = error_of(std::string(kMinimal) + lines);
    EXPECT_NE(error.find(message), std::string::npos) << lines << " -> " << error;
  }
  // A job's tenant and class: per workload, per class, and SWF's columns only for swf.
  EXPECT_NE(error_of("cluster: {hosts: [{count: 2}]}\nworkload: {rate: 1, tasks: 1, tenants_from: user}\n")
                .find("x.yaml:2: workload.tenants_from: only for swf workloads"),
            std::string::npos);
  EXPECT_NE(error_of("cluster: {hosts: [{count: 2}]}\nworkload: {rate: 1, tasks: 1, priority_class: 1.5}\n")
                .find("x.yaml:2: workload.priority_class: must be an integer"),
            std::string::npos);
  auto classes = load_scenario_file(write("c.yaml", R"(cluster: {hosts: [{count: 2}]}
workload:
  rate: 1
  tasks: 10
  tenant: base
  priority_class: 2
  classes: [{share: 0.5, tenant: alice}, {share: 0.5, priority_class: 3}]
)"));
  ASSERT_TRUE(classes.ok()) << classes.error();
  EXPECT_EQ(classes->classes[0].tenant, "alice");
  EXPECT_EQ(classes->classes[0].priority_class, 2);
  EXPECT_EQ(classes->classes[1].tenant, "base");
  EXPECT_EQ(classes->classes[1].priority_class, 3);
}

TEST_F(ScenarioTest, AlibabaWorkloadKeys) {
  write("t.csv", "1,2,3,4,1,Terminated,50,0.1\n");
  auto s = load_scenario_file(write("x.yaml", std::string(kZoned) + R"(workload:
  type: alibaba
  file: t.csv
  first_job: 1
  max_jobs: 100
  time_scale: 0.5
  runtime_scale: 2
  max_instances: 10
  machine_memory: 96GiB
  require: {zone: eu}
  spread: zone
)"));
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->trace.type, "alibaba");
  EXPECT_EQ(s->trace.files, (std::vector<std::string>{file("t.csv")}));
  EXPECT_EQ(s->trace.first_job, 1u);
  EXPECT_EQ(s->trace.max_jobs, 100u);
  EXPECT_EQ(s->trace.max_instances, 10u);
  EXPECT_EQ(s->trace.machine_memory, 96 * kGiB);
  EXPECT_EQ(s->trace.require, (std::map<std::string, std::string>{{"zone", "eu"}}));
  EXPECT_EQ(s->trace.spread, Spread::kZone);
  EXPECT_TRUE(s->classes.empty());

  const std::string head = std::string(kZoned) + "workload:\n  file: t.csv\n";  // workload at line 7
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"  type: alibaba\n  machine_memory: 64 gigs\n", "x.yaml:10: workload.machine_memory: must be a size in bytes"},
      {"  type: alibaba\n  machine_memory: 0\n", "x.yaml:10: workload.machine_memory: must be a positive size"},
      {"  type: alibaba\n  max_procs: 4\n", "x.yaml:10: workload.max_procs: only for swf workloads"},
      {"  type: alibaba\n  count: 4\n", "x.yaml:10: workload.count: not for alibaba"},
      {"  type: alibaba\n  require: {zone: mars}\n", "x.yaml:10: workload.require.zone: unknown zone 'mars'"},
      {"  type: swf\n  max_instances: 4\n", "x.yaml:10: workload.max_instances: only for alibaba workloads"},
      {"  type: dag\n  machine_memory: 1G\n", "x.yaml:10: workload.machine_memory: only for alibaba workloads"},
      {"  type: alibaba\n  classes: [{share: 1}]\n", "x.yaml:10: workload.classes: only for type poisson"},
  };
  for (const auto& [lines, message] : cases) {
    const std::string error = error_of(head + lines);
    EXPECT_NE(error.find(message), std::string::npos) << lines << " -> " << error;
  }
  EXPECT_NE(error_of("cluster: {hosts: [{count: 2}]}\nworkload:\n  rate: 1\n  tasks: 1\n  machine_memory: 1G\n")
                .find("x.yaml:5: workload.machine_memory: not for type poisson"),
            std::string::npos);
}

TEST_F(ScenarioTest, ZoneOutagesExpandToTheirGroups) {
  auto s = load_scenario_text(std::string(kZoned) + R"(workload: {rate: 5, tasks: 10}
faults:
  - {kind: zone_outage, zone: eu, at: 10, duration: 30}
  - {kind: zone_outage, zone: us, at: 50, duration: 5, mode: partition}
  - {kind: crash, host: b-0, at: 100}
)", "y.yaml");
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_EQ(s->faults.size(), 4u);
  EXPECT_EQ(s->faults[0].kind, FaultSpec::Kind::kCrash);
  EXPECT_EQ(s->faults[0].group, "a");
  EXPECT_EQ(s->faults[0].at, 10);
  EXPECT_EQ(s->faults[0].recover_after, 30);
  EXPECT_EQ(s->faults[0].zone, "eu");
  EXPECT_EQ(s->faults[0].line, 9);
  EXPECT_EQ(s->faults[1].group, "c");
  EXPECT_EQ(s->faults[1].zone, "eu");
  EXPECT_EQ(s->faults[2].kind, FaultSpec::Kind::kLink);
  EXPECT_TRUE(s->faults[2].cut);
  EXPECT_EQ(s->faults[2].group, "b");
  EXPECT_EQ(s->faults[2].duration, 5);
  EXPECT_EQ(s->faults[2].zone, "us");
  EXPECT_EQ(s->faults[3].host, "b-0");
  EXPECT_EQ(s->faults[3].zone, "");

  // The timeline: every host of the zone down at 10, back at 40.
  std::vector<std::string> names, groups;
  for (const WorkerSpec& w : worker_specs(s->cluster)) {
    names.push_back(w.name);
    groups.push_back(w.group);
  }
  FaultTimeline timeline(s->faults, names, groups, s->seed);
  FaultEvent e;
  std::vector<std::string> crashed;
  while (timeline.next(e) && e.time <= 10) {
    if (e.kind == FaultEvent::Kind::kCrash) crashed.push_back(names[e.host]);
  }
  EXPECT_EQ(crashed, (std::vector<std::string>{"a-0", "a-1", "c"}));

  // A group name shared with a group outside the zone: its hosts one by one.
  auto shared = load_scenario_text(
      "cluster:\n  hosts: [{name: x, count: 2, zone: eu}, {name: x, zone: us}]\nworkload: {rate: 1, tasks: 1}\n"
      "faults: [{kind: zone_outage, zone: eu, at: 1, duration: 1}]\n", "y.yaml");
  ASSERT_TRUE(shared.ok()) << shared.error();
  ASSERT_EQ(shared->faults.size(), 2u);
  EXPECT_EQ(shared->faults[0].host, "x-0");
  EXPECT_EQ(shared->faults[1].host, "x-1");

  // With a platform file a zone is a group, which the simulator checks.
  write("p.xml", "<platform/>");
  auto platform = load_scenario_file(write("p.yaml", "cluster: {platform: p.xml}\nworkload: {rate: 1, tasks: 1}\n"
                                                     "faults: [{kind: zone_outage, zone: AS_a, at: 1, duration: 2}]\n"));
  ASSERT_TRUE(platform.ok()) << platform.error();
  ASSERT_EQ(platform->faults.size(), 1u);
  EXPECT_EQ(platform->faults[0].group, "AS_a");
  EXPECT_EQ(platform->faults[0].zone, "AS_a");
}

TEST_F(ScenarioTest, BadZoneOutagesNameFileLineAndKey) {
  const std::string head = std::string(kZoned) + "workload: {rate: 5, tasks: 10}\nfaults:\n";  // faults[0] at line 9
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"  - {kind: zone_outage, zone: asia, at: 1, duration: 1}\n",
       "x.yaml:9: faults[0].zone: unknown zone 'asia' (the cluster's zones are eu, us)"},
      {"  - {kind: zone_outage, at: 1, duration: 1}\n", "x.yaml:9: faults[0]: missing required key 'zone'"},
      {"  - {kind: zone_outage, zone: eu, at: 1}\n", "x.yaml:9: faults[0]: missing required key 'duration'"},
      {"  - {kind: zone_outage, zone: eu, at: 1, duration: 1, mode: reboot}\n",
       "x.yaml:9: faults[0].mode: must be crash or partition, got reboot"},
      {"  - {kind: zone_outage, zone: eu, host: a-0, at: 1, duration: 1}\n",
       "x.yaml:9: faults[0]: key 'host' does not apply to kind zone_outage (its keys: kind, zone, at, duration, mode)"},
      {"  - {kind: crash, zone: eu, at: 1}\n", "x.yaml:9: faults[0]: key 'zone' does not apply to kind crash"},
      // The timeline check sees the hosts a zone outage takes down.
      {"  - {kind: crash, host: a-1, at: 5, recover_after: 20}\n  - {kind: zone_outage, zone: eu, at: 10, duration: 1}\n",
       "x.yaml:10: faults[1]: crashes"},
  };
  for (const auto& [lines, message] : cases) {
    const std::string error = error_of(head + lines);
    EXPECT_NE(error.find(message), std::string::npos) << lines << " -> " << error;
  }
  EXPECT_NE(error_of("cluster:\n  zones: {eu: {}, us: {}}\n  hosts: [{zone: eu}]\nworkload: {rate: 1, tasks: 1}\n"
                     "faults: [{kind: zone_outage, zone: us, at: 1, duration: 1}]\n")
                .find("x.yaml:5: faults[0].zone: zone 'us' has no hosts"),
            std::string::npos);
}

}  // namespace
}  // namespace fulcrum
