#include "real/local_run.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/workload.h"
#include "real/client.h"

extern char** environ;

namespace fulcrum::real {
namespace {

using Clock = std::chrono::steady_clock;

// The processes a run started; the destructor stops whatever is still running.
class Processes {
 public:
  ~Processes() { stop_all(); }
  Expected<pid_t> spawn(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
    if (rc != 0) return Error{"cannot start " + args[0] + ": " + std::strerror(rc)};
    pids_.push_back(pid);
    return pid;
  }
  bool alive(pid_t pid) const { return ::waitpid(pid, nullptr, WNOHANG) == 0; }
  void stop_all() {
    for (pid_t pid : pids_) ::kill(pid, SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    for (pid_t pid : pids_) {
      while (::waitpid(pid, nullptr, WNOHANG) == 0) {
        if (Clock::now() > deadline) {
          ::kill(pid, SIGKILL);
          ::waitpid(pid, nullptr, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    pids_.clear();
  }

 private:
  std::vector<pid_t> pids_;
};

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

Expected<RunRecords> run_local(const Scenario& scenario, const LocalRunOptions& options) {
  if (!scenario.cluster.platform.empty()) {
    return Error{scenario.source + ": cluster.platform: real mode needs host groups (cluster.hosts), not a platform file"};
  }
  const double scale = scenario.real.time_scale;
  std::error_code ec;
  char pattern[] = "/tmp/fulcrum-real-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) return Error{std::string("cannot make a temporary folder: ") + std::strerror(errno)};
  const std::filesystem::path dir(pattern);
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{dir};

  Processes processes;
  const std::string port_file = (dir / "port").string();
  std::vector<std::string> args{options.binary,      "scheduler",
                                "--listen",          "127.0.0.1:0",
                                "--journal",         (dir / "journal").string(),
                                "--policy",          scenario.policy,
                                "--queue-cap",       std::to_string(scenario.cluster.queue_cap),
                                "--seed",            std::to_string(scenario.seed),
                                "--port-file",       port_file};
  if (options.verbose) args.push_back("--verbose");
  auto scheduler = processes.spawn(args);
  if (!scheduler) return Error{scheduler.error()};
  std::string port;
  for (const auto deadline = Clock::now() + std::chrono::seconds(10); port.empty();) {
    if (std::ifstream in(port_file); in) in >> port;
    if (!port.empty()) break;
    if (!processes.alive(*scheduler)) return Error{"the scheduler daemon exited at start"};
    if (Clock::now() > deadline) return Error{"the scheduler daemon did not start within 10 s"};
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const std::string endpoint = "127.0.0.1:" + port;

  const std::vector<WorkerSpec> hosts = worker_specs(scenario.cluster);
  auto client = Client::connect(endpoint);
  if (!client) return Error{client.error()};
  // Workers join one at a time, in the scenario's order, so that worker ids — and with
  // them every order-dependent policy (round robin, ties) — match the simulation's.
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    const WorkerSpec& h = hosts[i];
    std::vector<std::string> wargs{options.binary, "worker", "--scheduler", endpoint, "--name", h.name,
                                   "--slots", std::to_string(h.slots), "--speed", number(h.speed / scale)};
    if (options.verbose) wargs.push_back("--verbose");
    if (auto w = processes.spawn(wargs); !w) return Error{w.error()};
    for (const auto deadline = Clock::now() + std::chrono::seconds(10);;) {
      auto reply = (*client)->call(RecordsRequest{});
      if (!reply) return Error{reply.error()};
      if (std::get<RecordsReply>(*reply).workers.size() > i) break;
      if (Clock::now() > deadline) return Error{"worker " + h.name + " did not register within 10 s"};
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  const TaskKind kind = scenario.real.task == "burn" ? TaskKind::kBurn : TaskKind::kSleep;
  ArrivalStream arrivals(scenario.workload, scenario.seed);
  Arrival arrival;
  std::vector<std::uint64_t> tasks;
  const auto t0 = Clock::now();
  while (arrivals.next(arrival)) {
    std::this_thread::sleep_until(t0 + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(arrival.time * scale)));
    auto reply = (*client)->call(Submit{{TaskDesc{kind, "", arrival.flops, 0, {}}}});
    if (!reply) return Error{"submit: " + reply.error()};
    tasks.push_back(std::get<Submitted>(*reply).first_task);
  }
  for (std::uint64_t t : tasks) {
    auto reply = (*client)->call(StatusRequest{t, true}, -1);
    if (!reply) return Error{"wait: " + reply.error()};
  }
  auto reply = (*client)->call(RecordsRequest{});
  if (!reply) return Error{reply.error()};
  auto& records = std::get<RecordsReply>(*reply);
  (void)(*client)->call(ShutdownRequest{}, 5);
  processes.stop_all();

  // Back to scenario seconds, counted from the first submission.
  double origin = INFINITY;
  for (const TaskRecord& t : records.tasks) origin = std::min(origin, t.submit);
  const double first_arrival = [&] {
    ArrivalStream again(scenario.workload, scenario.seed);
    Arrival a;
    return again.next(a) ? a.time : 0.0;
  }();
  auto rescale = [&](double t) { return t < 0 ? t : (t - origin) / scale + first_arrival; };
  RunRecords out;
  out.tasks = std::move(records.tasks);
  for (TaskRecord& t : out.tasks) {
    t.submit = rescale(t.submit);
    t.start = rescale(t.start);
    t.end = rescale(t.end);
  }
  out.workers = std::move(records.workers);
  // Name order of the scenario, whatever order the workers registered in.
  std::vector<WorkerId> remap(out.workers.size());
  std::vector<WorkerRecord> ordered;
  for (const WorkerSpec& h : hosts) {
    for (std::size_t i = 0; i < out.workers.size(); ++i) {
      if (out.workers[i].name == h.name) {
        remap[i] = static_cast<WorkerId>(ordered.size());
        WorkerRecord w = out.workers[i];
        w.group = h.group;
        w.speed = h.speed;
        w.busy_time /= scale;
        ordered.push_back(std::move(w));
      }
    }
  }
  if (ordered.size() != out.workers.size()) return Error{"a worker registered twice or under an unknown name"};
  for (TaskRecord& t : out.tasks) {
    if (t.worker != kNoWorker) t.worker = remap[t.worker];
  }
  out.workers = std::move(ordered);
  out.summary = summarize(out.tasks, out.workers, records.tasks_retried);
  return out;
}

}  // namespace fulcrum::real
