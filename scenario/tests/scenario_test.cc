// Tests of scenario loading: the YAML contract, defaults, overrides, and that every
// error names the file, the line and the key path.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "scenario/load.h"
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
                   "queue_cap, scheduler_host)");
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
                              "scheduler_host)");
  EXPECT_NE(error_of("seed: 1\nsed: 2\n").find("x.yaml:2: unknown key 'sed' (known: seed, cluster, workload, policy, real)"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "workload2: 1\n").find("x.yaml:4: unknown key 'workload2'"),
            std::string::npos);
  EXPECT_NE(error_of("cluster:\n  hosts:\n    - {count: 2, sped: 1}\nworkload: {rate: 5, tasks: 10}\n")
                .find("x.yaml:3: cluster.hosts[0]: unknown key 'sped' (known: name, count, speed, slots, weight)"),
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
       "x.yaml:1: cluster: must be a map (keys: hosts, platform, network, queue_cap, scheduler_host), got 5"},
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
       "x.yaml:2: workload.type: unknown workload type 'hawkes' (known: poisson)"},
      {"cluster: {hosts: [{count: 1}]}\nworkload:\n  rate:\n  tasks: 1\n",
       "x.yaml:3: workload.rate: must be a positive number of tasks per second, got no value"},
      {"cluster: {hosts: [{count: 1}]}\nworkload: {tasks: 1}\n", "x.yaml:2: workload: missing required key 'rate'"},
      {"workload: {rate: 1, tasks: 1}\n", "x.yaml:1: missing required key 'cluster'"},
      {"cluster: {}\nworkload: {rate: 1, tasks: 1}\n", "x.yaml:1: cluster: needs hosts"},
      {"", "x.yaml: the scenario is empty"},
      {"- 1\n- 2\n", "x.yaml:1: a scenario is a map of seed, cluster, workload and policy, got a list"},
      {"seed: 1\nseed: 2\n", "x.yaml:2: key 'seed' is given twice"},
      {"a: 1\n---\nb: 2\n", "x.yaml:3: expected one YAML document, found 2"},
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
  // Two unnamed groups share the default prefix.
  EXPECT_NE(hosts("    - {count: 2}\n    - {count: 3}\n")
                .find("x.yaml:4: cluster.hosts[1]: host name 'w-0' is also a host of cluster.hosts[0]"),
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
                                              "a[99999999999]=1", "seed=[", "cluster.hosts[0][0]=1",
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

}  // namespace
}  // namespace fulcrum
