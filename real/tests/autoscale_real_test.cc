// The autoscaler in real mode, on loopback: the scheduler daemon runs the scale-out command
// (posix_spawn, never blocking its loop), the workers it starts register and run tasks,
// drained ones get Retire and their processes exit; failing or hanging scale-outs are
// reported and lose nothing. And `run --mode real` with `autoscale:` end to end.
#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "real/client.h"
#include "real/local_run.h"
#include "scenario/load.h"

extern char** environ;

namespace fulcrum::real {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// One scheduler daemon with autoscaling and a worker "a"; SIGKILLs and reaps what it
// started, and the workers the scheduler started (by the pid files their command writes).
class AutoscaleCluster {
 public:
  explicit AutoscaleCluster(const std::vector<std::string>& extra) {
    char pattern[] = "/tmp/fulcrum-autoscale-test-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    const std::string port_file = dir_ + "/port";
    std::vector<std::string> args{FULCRUM_BINARY, "scheduler", "--listen", "127.0.0.1:0", "--journal",
                                  dir_ + "/journal", "--port-file", port_file, "--autoscale"};
    for (std::string a : extra) {
      for (auto at = a.find("DIR"); at != std::string::npos; at = a.find("DIR")) a.replace(at, 3, dir_);
      for (auto at = a.find("BIN"); at != std::string::npos; at = a.find("BIN")) a.replace(at, 3, FULCRUM_BINARY);
      args.push_back(a);
    }
    pids_.push_back(spawn(args));
    std::string text;
    for (auto deadline = Clock::now() + 10s; text.empty() && Clock::now() < deadline;) {
      if (std::ifstream in(port_file); in) in >> text;
      std::this_thread::sleep_for(5ms);
    }
    endpoint_ = "127.0.0.1:" + text;
    worker_a_ = spawn({FULCRUM_BINARY, "worker", "--scheduler", endpoint_, "--name", "a", "--slots", "1"});
    pids_.push_back(worker_a_);
  }
  ~AutoscaleCluster() {
    for (pid_t pid : pids_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    for (const auto& [name, pid] : scaled_pids()) {
      // Still the command it started (not a pid used again): init reaps it.
      std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
      const std::string args((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (args.find(name) != std::string::npos || args.find("sleep") != std::string::npos) ::kill(pid, SIGKILL);
    }
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<Client> client() {
    auto c = Client::connect(endpoint_);
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error());
    return c.ok() ? std::move(*c) : nullptr;
  }
  // The workers a scale-out started, by the pid files DIR/NAME.pid their command wrote.
  std::map<std::string, pid_t> scaled_pids() const {
    std::map<std::string, pid_t> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
      if (e.path().extension() != ".pid") continue;
      pid_t pid = 0;
      if (std::ifstream in(e.path()); in >> pid) out[e.path().stem().string()] = pid;
    }
    return out;
  }
  std::string events() const {
    std::ifstream in(dir_ + "/journal/events.csv");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  const std::string& dir() const { return dir_; }
  pid_t worker_a() const { return worker_a_; }

 private:
  static pid_t spawn(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    EXPECT_EQ(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    return pid;
  }
  std::string dir_, endpoint_;
  std::vector<pid_t> pids_;
  pid_t worker_a_ = -1;
};

void wait_for_workers(Client& c, std::size_t n) {
  for (auto deadline = Clock::now() + 10s;;) {
    auto r = c.call(RecordsRequest{});
    ASSERT_TRUE(r.ok()) << r.error();
    if (std::get<RecordsReply>(*r).workers.size() >= n) return;
    ASSERT_LT(Clock::now(), deadline) << "workers did not register";
    std::this_thread::sleep_for(5ms);
  }
}

// Submits `n` one-task jobs of `sleep seconds` and waits for all; every one finished once.
std::vector<TaskStatus> run_tasks(Client& c, int n, double seconds) {
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < n; ++i) {
    auto r = c.call(Submit{{{synthetic_task(TaskKind::kSleep, seconds * 1e9)}}});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
    if (r.ok()) ids.push_back(std::get<Submitted>(*r).first_task);
  }
  std::vector<TaskStatus> out;
  for (std::uint64_t t : ids) {
    auto r = c.call(StatusRequest{t, true}, 30);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
    if (r.ok()) out.push_back(std::get<TaskStatus>(*r));
  }
  return out;
}

bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');
  return line.empty() || (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z');
}

// Fast autoscaling on wall seconds: evaluations every 50 ms over a 150 ms window.
const std::vector<std::string> kFast{"--autoscale-target", "0.5", "--autoscale-min", "1", "--autoscale-max", "3",
                                     "--autoscale-period", "0.05", "--autoscale-window", "0.15",
                                     "--autoscale-cooldown-out", "0.1", "--autoscale-cooldown-in", "0.3",
                                     "--autoscale-scale-in-after", "2"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(RealAutoscale, ScaleOutStartsWorkersThatRunTasksAndRetiredOnesExit) {
  // Late binding: tasks wait centrally, so workers that join later get some.
  AutoscaleCluster cluster(with(kFast, {"--queue-cap", "0", "--scale-out-command",
                                        "echo $$ > DIR/{name}.pid; exec BIN worker --scheduler {address} --name "
                                        "\"$FULCRUM_WORKER_NAME\" --slots 1 --speed 1e9"}));
  auto c = cluster.client();
  ASSERT_TRUE(c);
  wait_for_workers(*c, 1);
  // 60 tasks of 40 ms, submitted at once: 2.4 s on one slot; the cluster grows to 3.
  const auto statuses = run_tasks(*c, 60, 0.04);
  ASSERT_EQ(statuses.size(), 60u);
  std::map<std::string, int> per_worker;
  for (const TaskStatus& s : statuses) {
    EXPECT_EQ(s.state, "finished");
    EXPECT_EQ(s.attempts, 1u);
    ++per_worker[s.worker];
  }
  EXPECT_GE(per_worker.size(), 2u) << "a worker a scale-out started ran tasks";
  auto scaled = cluster.scaled_pids();
  ASSERT_GE(scaled.size(), 1u);
  for (const auto& [name, pid] : scaled) EXPECT_EQ(name.rfind("scaled-", 0), 0u) << name;
  // Idle now: scale-ins drain the workers (those holding least, the newest on ties) back to
  // the minimum, one, and each retired worker's process exits. Worker a is our child.
  scaled["a"] = cluster.worker_a();
  std::string left;
  for (auto deadline = Clock::now() + 5s;;) {
    int alive = 0;
    for (const auto& [name, pid] : scaled) {
      const bool gone = name == "a" ? ::waitpid(pid, nullptr, WNOHANG) == pid || ::kill(pid, 0) != 0 : process_gone(pid);
      if (!gone) ++alive, left = name;
    }
    if (alive == 1) break;
    ASSERT_LT(Clock::now(), deadline) << "retired workers did not exit\n" << cluster.events();
    std::this_thread::sleep_for(20ms);
  }
  const std::string events = cluster.events();
  EXPECT_NE(events.find(",scale_out,,\"+"), std::string::npos) << events;
  EXPECT_NE(events.find(",boot,scaled-"), std::string::npos) << events;
  EXPECT_NE(events.find(",scale_in,"), std::string::npos) << events;
  for (const auto& [name, pid] : scaled) {
    if (name != left) {
      EXPECT_NE(events.find(",worker_retired," + name), std::string::npos) << name << "\n" << events;
    }
  }
  EXPECT_EQ(events.find("scale_out_failed"), std::string::npos) << events;
  // The cluster still works, on the worker left.
  const auto after = run_tasks(*c, 3, 0.01);
  for (const TaskStatus& s : after) EXPECT_EQ(s.state, "finished");
}

TEST(RealAutoscale, AFailingScaleOutCommandIsReportedAndLosesNothing) {
  AutoscaleCluster cluster(with(kFast, {"--scale-out-command", "exit 3"}));
  auto c = cluster.client();
  ASSERT_TRUE(c);
  wait_for_workers(*c, 1);
  const auto start = Clock::now();
  const auto statuses = run_tasks(*c, 30, 0.03);
  EXPECT_LT(Clock::now() - start, 5s) << "the failed scale-outs did not hold anything up";
  ASSERT_EQ(statuses.size(), 30u);
  for (const TaskStatus& s : statuses) {
    EXPECT_EQ(s.state, "finished");
    EXPECT_EQ(s.worker, "a");
  }
  const std::string events = cluster.events();
  EXPECT_NE(events.find(",scale_out_failed,scaled-1-1,\"the scale-out command exited with status 3\",1"),
            std::string::npos) << events;
  // The core was told: it asks again after its cooldown (not stuck counting a boot).
  EXPECT_NE(events.find(",scale_out_failed,scaled-1-2,"), std::string::npos) << events;
}

TEST(RealAutoscale, AWorkerThatDoesNotRegisterInTimeIsReportedAndStopped) {
  AutoscaleCluster cluster(with(kFast, {"--boot-timeout", "0.3", "--scale-out-names", "late",
                                        "--scale-out-command", "echo $$ > DIR/{name}.pid; exec sleep 30"}));
  auto c = cluster.client();
  ASSERT_TRUE(c);
  wait_for_workers(*c, 1);
  const auto statuses = run_tasks(*c, 30, 0.03);
  for (const TaskStatus& s : statuses) EXPECT_EQ(s.state, "finished");
  for (auto deadline = Clock::now() + 5s; cluster.events().find("did not register") == std::string::npos;) {
    ASSERT_LT(Clock::now(), deadline) << cluster.events();
    std::this_thread::sleep_for(20ms);
  }
  const std::string events = cluster.events();
  EXPECT_NE(events.find(",scale_out_failed,late,\"did not register within"), std::string::npos);
  // The hanging command was stopped (SIGTERM), and reaped by the scheduler. Its pid is the
  // one the scheduler recorded: on a loaded machine the 0.3 s may run out before the
  // shell has written its own pid file.
  std::smatch boot;
  ASSERT_TRUE(std::regex_search(events, boot, std::regex(",boot,late,\"scale-out command started, pid ([0-9]+)\"")))
      << events;
  const pid_t late = static_cast<pid_t>(std::stol(boot[1]));
  for (auto deadline = Clock::now() + 3s; !process_gone(late);) {
    ASSERT_LT(Clock::now(), deadline) << "the command that did not register was not stopped";
    std::this_thread::sleep_for(20ms);
  }
}

// `run --mode real` with `autoscale:`: a load step (x6 from 40 s to 100 s) on 4 hosts of 2
// slots, one at first, 50x faster than the scenario's time.
TEST(RealAutoscale, LocalRunLoadStepGrowsAndShrinksTheCluster) {
  auto scenario = load_scenario_text(R"(
seed: 3
cluster:
  hosts: [{count: 4, speed: 1e9, slots: 2}]
workload:
  type: poisson
  rate: 1
  size: {dist: exponential, mean: 1e9}
  tasks: 500
  rate_profile: {kind: step, at: [0, 40, 100], factor: [1, 6, 1]}
policy: least_connections
real: {time_scale: 0.02}
autoscale: {metric: utilisation, target: 0.6, min: 1, max: 4, initial: 1, period: 2, window: 6,
            cooldown_out: 4, cooldown_in: 10, scale_in_after: 2, boot_delay: 2}
)", "step.yaml");
  ASSERT_TRUE(scenario.ok()) << scenario.error();
  auto r = run_local(*scenario, LocalRunOptions{FULCRUM_BINARY, false});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->summary.tasks_completed, 500u);
  EXPECT_EQ(r->summary.tasks_lost, 0u);
  EXPECT_EQ(r->summary.tasks_failed, 0u);
  std::set<std::uint64_t> ids;
  for (const TaskRecord& t : r->tasks) {
    EXPECT_EQ(t.state, TaskState::kFinished);
    EXPECT_EQ(t.attempts, 1u);
    ids.insert(t.id);
  }
  EXPECT_EQ(ids.size(), 500u) << "every task recorded once";
  int outs = 0, ins = 0, retired = 0, boots = 0, up = 1, peak = 1;
  for (const EventRecord& e : r->events) {
    outs += e.kind == "scale_out";
    ins += e.kind == "scale_in";
    if (e.kind == "boot") ++boots, peak = std::max(peak, ++up);
    if (e.kind == "worker_retired") ++retired, --up;
    EXPECT_NE(e.kind, "scale_out_failed") << e.detail;
  }
  EXPECT_GE(outs, 1);
  EXPECT_GE(ins, 1);
  EXPECT_GE(retired, 1);
  EXPECT_GE(peak, 3) << "the step grows the cluster beyond two workers";
  // Hosts a scale-out started ran tasks.
  std::uint64_t on_scaled = 0;
  for (std::size_t h = 1; h < r->workers.size(); ++h) on_scaled += r->workers[h].tasks;
  EXPECT_GT(on_scaled, 50u);
  // host_seconds: more than the one initial worker, far less than four for the whole run.
  const double end = r->summary.makespan;
  EXPECT_GT(r->summary.host_seconds, 1.2 * end);
  EXPECT_LT(r->summary.host_seconds, 0.8 * 4 * end);
  EXPECT_EQ(r->summary.energy_joules, 0.0);
}

}  // namespace
}  // namespace fulcrum::real
