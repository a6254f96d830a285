#include "real/local_run.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "model/faults.h"
#include "model/arrivals.h"
#include "real/auth.h"
#include "real/certs.h"
#include "real/client.h"
#include "real/tls.h"
#include "real/scheduler_daemon.h"
#include "real/scheduler_flags.h"
#include "results/tenants.h"
#include "scenario/scheduler_config.h"
#include "workload/jobs.h"

extern char** environ;

namespace fulcrum::real {
namespace {

using Clock = std::chrono::steady_clock;

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// The boot scripts' worker command line names the scheduler through the environment the
// scale-out command sets.
constexpr const char* kSchedulerVariable = "$FULCRUM_SCHEDULER";

// `text` as one word of /bin/sh, whatever it holds.
std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The `fulcrum worker` flags that make a worker offer what scenario host `h` offers: its
// memory (always given: 0 is "not limited", as in the scenario, where a worker left to
// itself would detect the machine's), GPUs and named resources, labels and zone. Tasks run
// here are synthetic (sleep, burn: inside the worker), so nothing is enforced.
std::vector<std::string> worker_resource_flags(const WorkerSpec& h) {
  std::vector<std::string> args{"--memory", h.resources.memory > 0 ? number(h.resources.memory) : "0",
                                "--enforce", "none"};
  std::string others;
  if (h.resources.gpus > 0) others = "gpus=" + number(h.resources.gpus);
  for (const auto& [name, amount] : h.resources.other) others += (others.empty() ? "" : ",") + name + "=" + number(amount);
  if (!others.empty()) args.insert(args.end(), {"--resources", others});
  for (const auto& [key, value] : h.labels) args.insert(args.end(), {"--label", key + "=" + value});
  if (!h.zone.empty()) args.insert(args.end(), {"--zone", h.zone});
  return args;
}

// Why host `h` cannot be described by worker_resource_flags (names its flags could not
// carry), or "".
std::string inexpressible(const WorkerSpec& h) {
  for (const auto& [name, amount] : h.resources.other) {
    if (name.empty() || name.find_first_of(",= ") != std::string::npos || name == "cores" || name == "memory" ||
        name == "gpus") {
      return "resource name '" + name + "' cannot be passed to a worker (--resources NAME=AMOUNT,...)";
    }
  }
  for (const auto& [key, value] : h.labels) {
    if (key.empty() || key.find('=') != std::string::npos) {
      return "label '" + key + "' cannot be passed to a worker (--label KEY=VALUE)";
    }
  }
  if (h.zone.find_first_of(" \t,=") != std::string::npos) {
    return "zone '" + h.zone + "' cannot be passed to a worker (--zone: no space, ',' or '=')";
  }
  return "";
}

void reap(pid_t pid, std::chrono::milliseconds grace) {
  const auto deadline = Clock::now() + grace;
  while (::waitpid(pid, nullptr, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// The scheduler and worker processes of one run. Every process it starts is stopped by
// stop_all() or the destructor.
class LocalCluster {
 public:
  LocalCluster(const Scenario& scenario, const LocalRunOptions& options, std::filesystem::path dir)
      : scenario_(scenario), options_(options), dir_(std::move(dir)) {}
  ~LocalCluster() { stop_all(); }

  // Starts the scheduler on `port` (0: any free port) and waits until it listens.
  Expected<bool> start_scheduler(int port) {
    const std::string port_file = (dir_ / "port").string();
    std::filesystem::remove(port_file);
    const RecoverySpec& r = scenario_.recovery;
    const double scale = scenario_.real.time_scale;
    const std::vector<WorkerSpec> hosts = worker_specs(scenario_.cluster);
    std::vector<std::string> args{options_.binary, "scheduler", "--listen", "127.0.0.1:" + std::to_string(port),
                                  "--journal", (dir_ / "journal").string(), "--policy", scenario_.policy,
                                  "--port-file", port_file, "--grace", number(r.reconcile_grace * scale),
                                  "--cert", (dir_ / "certs" / "scheduler.crt").string(),
                                  "--access", (dir_ / "certs" / "access.yaml").string()};
    // The core's configuration: the simulator's, in scaled seconds.
    for (std::string& flag : scheduler_flags(scale_durations(scheduler_config(scenario_, hosts.size()), scale))) {
      args.push_back(std::move(flag));
    }
    if (options_.metrics_port >= 0) {
      args.insert(args.end(), {"--metrics-port", std::to_string(options_.metrics_port)});
      if (!options_.metrics_port_file.empty()) args.insert(args.end(), {"--metrics-port-file", options_.metrics_port_file});
    }
    if (scenario_.autoscale.enabled) {
      // Scale-outs start the standby hosts' workers through their boot scripts (see
      // write_boot_scripts), every host in host order, as the simulation boots them.
      const AutoscaleSpec& a = scenario_.autoscale;
      std::string names;
      for (const WorkerSpec& h : hosts) names += (names.empty() ? "" : ",") + h.name;
      for (const std::string& arg :
           {std::string("--scale-out-names"), names,
            std::string("--scale-out-command"), "exec /bin/sh '" + (dir_ / "boot").string() + "/{name}.sh'",
            std::string("--boot-timeout"), number(a.boot_delay * scale + 10)}) {
        args.push_back(arg);
      }
    }
    if (options_.verbose) args.push_back("--verbose");
    auto pid = spawn(args);
    if (!pid) return Error{pid.error()};
    scheduler_ = *pid;
    std::string text;
    for (const auto deadline = Clock::now() + std::chrono::seconds(10);;) {
      if (std::ifstream in(port_file); in) in >> text;
      if (!text.empty()) break;
      if (::waitpid(scheduler_, nullptr, WNOHANG) != 0) return Error{"the scheduler daemon exited at start"};
      if (Clock::now() > deadline) return Error{"the scheduler daemon did not start within 10 s"};
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    port_ = std::stoi(text);
    endpoint_ = "127.0.0.1:" + text;
    return true;
  }

  // The command line of host h's worker daemon: the scenario's whole description of the
  // host (speeds scaled to wall time), so that real mode decides as the simulation does.
  std::vector<std::string> worker_args(const WorkerSpec& h, const std::string& scheduler) const {
    const double scale = scenario_.real.time_scale;
    std::vector<std::string> args{options_.binary, "worker", "--scheduler", scheduler, "--name", h.name,
                                  "--group", h.group, "--slots", std::to_string(h.slots),
                                  "--speed", number(h.speed / scale), "--weight", number(h.weight),
                                  "--heartbeat", number(scenario_.recovery.heartbeat_interval * scale),
                                  "--cert", (dir_ / "certs" / "worker.crt").string()};
    for (std::string& flag : worker_resource_flags(h)) args.push_back(std::move(flag));
    args.push_back(options_.verbose ? "--verbose" : "--quiet");
    return args;
  }

  Expected<bool> start_worker(const WorkerSpec& h) {
    auto pid = spawn(worker_args(h, endpoint_));
    if (!pid) return Error{pid.error()};
    std::lock_guard lock(mutex_);
    workers_[h.name] = *pid;
    return true;
  }

  // One script per host, DIR/boot/NAME.sh, which the scheduler's scale-out command runs:
  // it notes its pid (for stop_all), sleeps the scenario's boot delay, and becomes the
  // host's worker daemon.
  Expected<bool> write_boot_scripts(const std::vector<WorkerSpec>& hosts) {
    const double scale = scenario_.real.time_scale;
    std::error_code ec;
    std::filesystem::create_directories(dir_ / "boot", ec);
    if (ec) return Error{(dir_ / "boot").string() + ": " + ec.message()};
    for (const WorkerSpec& h : hosts) {
      const std::string path = (dir_ / "boot" / (h.name + ".sh")).string();
      std::ofstream out(path);
      out << "echo $$ > '" << (dir_ / "boot" / (h.name + ".pid")).string() << "'\n";
      if (scenario_.autoscale.boot_delay > 0) out << "sleep " << number(scenario_.autoscale.boot_delay * scale) << "\n";
      out << "exec";
      for (const std::string& arg : worker_args(h, kSchedulerVariable)) {
        out << " " << (arg == kSchedulerVariable ? "\"" + arg + "\"" : shell_quoted(arg));
      }
      out << "\n";
      if (!out) return Error{path + ": cannot write"};
    }
    return true;
  }

  void signal_worker(const std::string& name, int sig) {
    std::lock_guard lock(mutex_);
    auto it = workers_.find(name);
    if (it == workers_.end()) return;
    ::kill(it->second, sig);
    if (sig == SIGKILL) {
      ::waitpid(it->second, nullptr, 0);
      workers_.erase(it);
    }
  }

  void kill_scheduler() {
    ::kill(scheduler_, SIGKILL);
    ::waitpid(scheduler_, nullptr, 0);
    scheduler_ = -1;
  }

  void stop_all() {
    std::lock_guard lock(mutex_);
    for (auto& [name, pid] : workers_) {
      ::kill(pid, SIGCONT);  // a paused worker must be able to die of SIGTERM
      ::kill(pid, SIGTERM);
    }
    if (scheduler_ > 0) ::kill(scheduler_, SIGTERM);
    // Workers the scheduler started (scale-outs) are its children, not ours: found by the
    // pid their boot script wrote, and checked to still be that script or worker.
    std::vector<pid_t> scaled;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_ / "boot", ec)) {
      if (entry.path().extension() != ".pid") continue;
      pid_t pid = 0;
      if (std::ifstream in(entry.path()); !(in >> pid) || pid <= 0) continue;
      std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
      const std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
      if (args.find(std::string(1, '\0') + entry.path().stem().string()) == std::string::npos &&
          args.find(entry.path().stem().string() + ".sh") == std::string::npos) {
        continue;  // exited (its pid may be someone else's now)
      }
      ::kill(pid, SIGTERM);
      scaled.push_back(pid);
    }
    for (auto& [name, pid] : workers_) reap(pid, std::chrono::seconds(5));
    if (scheduler_ > 0) reap(scheduler_, std::chrono::seconds(5));
    // Once the scheduler is gone they are init's children, reaped by it.
    for (pid_t pid : scaled) {
      for (const auto deadline = Clock::now() + std::chrono::seconds(5);;) {
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        std::getline(stat, line);
        const auto paren = line.rfind(')');
        if (line.empty() || (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z')) break;
        if (Clock::now() > deadline) {
          ::kill(pid, SIGKILL);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    workers_.clear();
    scheduler_ = -1;
  }

  const std::string& endpoint() const { return endpoint_; }
  int port() const { return port_; }

 private:
  Expected<pid_t> spawn(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    // The daemons die with this process (cli/main.cc reads the variable), so that a run
    // interrupted by a signal leaves none behind.
    const std::string parent = std::string(kParentPidVariable) + "=" + std::to_string(::getpid());
    std::vector<char*> env{const_cast<char*>(parent.c_str())};
    for (char** e = environ; *e; ++e) {
      if (std::string_view(*e).rfind(std::string(kParentPidVariable) + "=", 0) != 0) env.push_back(*e);
    }
    env.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), env.data());
    if (rc != 0) return Error{"cannot start " + args[0] + ": " + std::strerror(rc)};
    return pid;
  }

  const Scenario& scenario_;
  const LocalRunOptions& options_;
  std::filesystem::path dir_;
  std::mutex mutex_;
  pid_t scheduler_ = -1;
  std::map<std::string, pid_t> workers_;
  std::string endpoint_;
  int port_ = 0;
};

// A client that survives a scheduler restart: a failed call reconnects and retries until
// `patience` runs out.
class PatientClient {
 public:
  PatientClient(std::string endpoint, double patience, ClientCredentials credentials)
      : endpoint_(std::move(endpoint)), patience_(patience), credentials_(std::move(credentials)) {}
  Expected<Message> call(const Message& m, double timeout = 30) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(patience_);
    std::string last;
    while (Clock::now() < deadline) {
      if (!client_) {
        auto c = Client::connect(endpoint_, 1, credentials_);
        if (!c) {
          last = c.error();
          continue;
        }
        client_ = std::move(*c);
      }
      auto reply = client_->call(m, timeout);
      if (reply) return reply;
      // The scheduler's answer (an ErrorReply: a Submit whose task fits no worker) is
      // final: asked again, it would accept the job again.
      if (client_->refused()) return reply;
      last = reply.error();
      client_.reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return Error{"the scheduler did not answer within " + number(patience_) + " s: " + last};
  }
  void reset() { client_.reset(); }

 private:
  std::string endpoint_;
  double patience_;
  ClientCredentials credentials_;
  std::unique_ptr<Client> client_;
};

// Parses the daemon's JOURNAL/events.csv (time,kind,host,"detail",alert).
std::vector<EventRecord> read_daemon_events(const std::filesystem::path& path) {
  std::vector<EventRecord> events;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    EventRecord e;
    const auto c1 = line.find(',');
    const auto c2 = line.find(',', c1 + 1);
    const auto c3 = line.find(",\"", c2);
    const auto c4 = line.rfind("\",");
    if (c1 == std::string::npos || c2 == std::string::npos || c3 == std::string::npos || c4 == std::string::npos) continue;
    e.time = std::stod(line.substr(0, c1));
    e.kind = line.substr(c1 + 1, c2 - c1 - 1);
    e.host = line.substr(c2 + 1, c3 - c2 - 1);
    e.detail = line.substr(c3 + 2, c4 - c3 - 2);
    e.alert = line.substr(c4 + 2) == "1";
    events.push_back(std::move(e));
  }
  return events;
}

}  // namespace

void die_with_parent_if_asked() {
  const char* value = std::getenv(kParentPidVariable);
  if (!value) return;
  const pid_t parent = static_cast<pid_t>(std::strtol(value, nullptr, 10));
  ::unsetenv(kParentPidVariable);
  // Not PR_SET_PDEATHSIG: it fires when the *thread* that spawned us ends, and run_local
  // restarts daemons from a thread that ends before the run does.
  std::thread([parent] {
    while (::getppid() == parent) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    // As if stopped by hand: a worker stops its tasks' process groups on the way out.
    ::kill(::getpid(), SIGTERM);
    std::this_thread::sleep_for(std::chrono::seconds(5));
    ::_exit(1);
  }).detach();
}

Expected<bool> check_runs_locally(const Scenario& scenario) {
  if (!scenario.cluster.platform.empty()) {
    return Error{scenario.source + ": cluster.platform: real mode needs host groups (cluster.hosts), not a platform file"};
  }
  if (scenario.autoscale.enabled && !scenario.faults.empty()) {
    return Error{scenario.source + ": autoscale with faults is not available in real mode yet (simulation only)"};
  }
  // Host groups' resources, labels and zones reach the workers through their flags, and
  // task requests, require and spread through the JobSpecs, as in simulation. What local
  // processes cannot reproduce is refused rather than run differently.
  if (!scenario.cluster.zones.empty()) {
    return Error{scenario.source + ": cluster.zones: the latency and bandwidth between zones cannot be emulated by "
                 "local processes (all on 127.0.0.1); to run in real mode, name each host group's zone (zone: NAME) "
                 "without declaring cluster.zones (the simulation then has no zone links either)"};
  }
  for (const WorkerSpec& h : worker_specs(scenario.cluster)) {
    if (const std::string why = inexpressible(h); !why.empty()) {
      return Error{scenario.source + ": cluster.hosts (" + h.group + "): " + why};
    }
  }
  for (const FaultSpec& f : scenario.faults) {
    if (f.kind == FaultSpec::Kind::kLink && !f.zone.empty()) {
      return Error{scenario.source + ":" + std::to_string(f.line) +
                   ": faults: zone_outage with mode: partition is not available in real mode (cutting a local "
                   "worker's link is not emulated); mode: crash is"};
    }
    if (f.kind == FaultSpec::Kind::kSlowdown || f.kind == FaultSpec::Kind::kLink) {
      return Error{scenario.source + ":" + std::to_string(f.line) + ": faults: " + to_string(f.kind) +
                   " faults are not available in real mode yet (crash, pause, leader_kill, random and zone_outage "
                   "are)"};
    }
  }
  return true;
}

Expected<RunRecords> run_local(const Scenario& scenario, const LocalRunOptions& options) {
  if (auto runs = check_runs_locally(scenario); !runs) return Error{runs.error()};
  const double scale = scenario.real.time_scale;
  // Under $TMPDIR (else /tmp): whoever starts a run that may be SIGKILLed, which leaves
  // the folder behind, can have it made in a folder of their own.
  std::error_code no_tmpdir;
  std::filesystem::path tmp = std::filesystem::temp_directory_path(no_tmpdir);
  if (no_tmpdir) tmp = "/tmp";
  std::string pattern = (tmp / "fulcrum-real-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Error{"cannot make a temporary folder in " + tmp.string() + ": " + std::strerror(errno)};
  }
  const std::filesystem::path dir(pattern);
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{dir};
  // Every run is mutual TLS with credentials of its own: a fresh CA in the temporary folder,
  // a scheduler certificate, one identity all its workers share (role worker) and this
  // process's (operator: it reads the run's records and shuts the scheduler down).
  const std::string certs = (dir / "certs").string();
  if (auto ok = certs_init(certs); !ok) return Error{ok.error()};
  for (const auto& [name, role] : {std::pair{"scheduler", "scheduler"}, {"worker", "worker"}, {"run", "operator"}}) {
    if (auto ok = certs_issue(certs, name, role); !ok) return Error{ok.error()};
  }
  auto tls = make_tls_context(tls_files_for((dir / "certs" / "run.crt").string()), TlsSide::kClient);
  if (!tls) return Error{tls.error()};

  LocalCluster cluster(scenario, options, dir);
  const std::vector<WorkerSpec> hosts = worker_specs(scenario.cluster);
  // Autoscaling: the first `initial` hosts start now, the others are standby.
  const std::size_t initial = scenario.autoscale.enabled ? std::min<std::size_t>(scenario.autoscale.initial, hosts.size())
                                                         : hosts.size();
  if (scenario.autoscale.enabled) {
    if (scenario.autoscale.min > hosts.size() || scenario.autoscale.max > hosts.size()) {
      return Error{scenario.source + ": autoscale: min and max must be at most the cluster's " +
                   std::to_string(hosts.size()) + " hosts"};
    }
    if (auto written = cluster.write_boot_scripts(hosts); !written) return Error{written.error()};
  }
  if (auto started = cluster.start_scheduler(0); !started) return Error{started.error()};
  const double patience = 30 + scenario.recovery.election_delay * scale * 2;
  PatientClient client(cluster.endpoint(), patience, ClientCredentials{"", *tls});
  // Workers join one at a time, in the scenario's order, so that worker ids — and with
  // them every order-dependent policy (round robin, ties) — match the simulation's.
  for (std::size_t i = 0; i < initial; ++i) {
    if (auto w = cluster.start_worker(hosts[i]); !w) return Error{w.error()};
    for (const auto deadline = Clock::now() + std::chrono::seconds(10);;) {
      auto reply = client.call(RecordsRequest{});
      if (!reply) return Error{reply.error()};
      if (std::get<RecordsReply>(*reply).workers.size() > i) break;
      if (Clock::now() > deadline) return Error{"worker " + hosts[i].name + " did not register within 10 s"};
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  const auto t0 = Clock::now();
  auto wall = [&](double scenario_time) {
    return t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(scenario_time * scale));
  };
  auto scenario_now = [&] { return std::chrono::duration<double>(Clock::now() - t0).count() / scale; };

  // Faults run beside the workload, on the same timeline as in simulation.
  std::vector<EventRecord> injected;
  std::mutex fault_mutex;
  std::condition_variable fault_cv;
  bool done = false;
  std::string fault_error;
  std::thread faults([&] {
    std::vector<std::string> names, groups;
    for (const WorkerSpec& h : hosts) {
      names.push_back(h.name);
      groups.push_back(h.group);
    }
    FaultTimeline timeline(scenario.faults, names, groups, scenario.seed);
    FaultEvent e;
    std::map<std::string, bool> down;
    while (timeline.next(e)) {
      {
        std::unique_lock lock(fault_mutex);
        if (fault_cv.wait_until(lock, wall(e.time), [&] { return done; })) return;
      }
      const double at = scenario_now();  // before the signal: its detection comes after
      const std::string host = e.kind == FaultEvent::Kind::kLeaderKill ? "" : hosts[e.host].name;
      // As the simulator words it (sim/faults.cc): a zone outage names its zone.
      const FaultSpec& spec = scenario.faults[e.fault];
      std::string detail = (spec.zone.empty() ? to_string(spec.kind) + " fault"
                                              : "zone_outage of zone " + spec.zone + " (crash)") +
                           ", line " + std::to_string(spec.line);
      switch (e.kind) {
        case FaultEvent::Kind::kCrash:
          if (down[host]) continue;
          down[host] = true;
          cluster.signal_worker(host, SIGKILL);
          break;
        case FaultEvent::Kind::kRecover:
          if (!down[host]) continue;
          down[host] = false;
          if (auto w = cluster.start_worker(hosts[e.host]); !w) fault_error = w.error();
          break;
        case FaultEvent::Kind::kPauseStart: cluster.signal_worker(host, SIGSTOP); break;
        case FaultEvent::Kind::kPauseEnd: cluster.signal_worker(host, SIGCONT); break;
        case FaultEvent::Kind::kLeaderKill: {
          cluster.kill_scheduler();
          std::lock_guard lock(fault_mutex);
          injected.push_back({at, "leader_kill", "", detail, true});
          break;
        }
        default: break;
      }
      if (e.kind == FaultEvent::Kind::kLeaderKill) {
        // A standby takes over after the election, on the same journal and address.
        std::this_thread::sleep_for(std::chrono::duration<double>(scenario.recovery.election_delay * scale));
        if (auto s = cluster.start_scheduler(cluster.port()); !s) fault_error = s.error();
        continue;
      }
      std::lock_guard lock(fault_mutex);
      injected.push_back({at, to_string(e.kind), host, detail, false});
    }
  });
  struct JoinFaults {
    std::thread& t;
    std::mutex& m;
    std::condition_variable& cv;
    bool& done;
    ~JoinFaults() {
      {
        std::lock_guard lock(m);
        done = true;
      }
      cv.notify_all();
      if (t.joinable()) t.join();
    }
  } join_faults{faults, fault_mutex, fault_cv, done};

  const TaskKind kind = scenario.real.task == "burn" ? TaskKind::kBurn : TaskKind::kSleep;
  // The workload as jobs: a file workload's DAGs, or one single-task job per arrival.
  TraceJobs trace;  // with a file's requests, as the simulator submits them
  std::vector<DagJob>& dag_jobs = trace.jobs;
  std::vector<JobRecord> job_records;
  if (!scenario.trace.type.empty()) {
    auto loaded = load_trace_jobs(scenario.trace);
    if (!loaded) return Error{loaded.error()};
    trace = std::move(*loaded);
    if (auto fits = check_rigid_jobs_fit(trace, worker_specs(scenario.cluster)); !fits) return Error{fits.error()};
  } else {
    ArrivalStream arrivals(scenario.workload, scenario.seed);
    Arrival arrival;
    while (arrivals.next(arrival)) {
      DagJob job;
      job.submit = arrival.time;
      job.tasks.push_back(DagTask{"", arrival.flops, {}});
      dag_jobs.push_back(std::move(job));
    }
  }
  // A synthetic arrival's task as the simulator submits it (sim/leader.cc): its class's
  // size, request, require and spread drawn by TaskClassStream from the same seed, one
  // arrival after the other (one core and the arrival's size without classes), running as
  // the scenario's real.task.
  TaskClassStream classes(scenario.classes, scenario.seed, scenario.width);
  auto job_spec = [&](std::size_t j) {
    if (!scenario.trace.type.empty()) return trace_job_spec(trace, j, scenario.trace, kind);
    JobSpec spec = classes.next_job(Arrival{dag_jobs[j].submit, dag_jobs[j].tasks[0].flops});
    for (TaskSpec& t : spec.tasks) t.kind = kind;
    return spec;
  };
  std::uint64_t submitted = 0;  // tasks the scheduler has accepted
  for (std::size_t j = 0; j < dag_jobs.size(); ++j) {
    const DagJob& job = dag_jobs[j];
    std::this_thread::sleep_until(wall(job.submit));
    const JobSpec spec = job_spec(j);
    auto reply = client.call(Submit{spec});
    if (!reply) {
      // The scheduler may have journaled the job and died before answering, or accepted it
      // as failed (a task that fits no worker: refused with task_unschedulable, as the
      // simulator counts it): ask it.
      auto records = client.call(RecordsRequest{});
      if (!records || std::get<RecordsReply>(*records).tasks.size() <= submitted) {
        return Error{"submit: " + reply.error()};
      }
    }
    job_records.push_back(job_record(job_records.size(), job.name, 0, spec, critical_path_bound(job, hosts)));
    submitted += spec.tasks.size();
  }
  // Task ids are dense from 0 in submission order.
  for (std::uint64_t t = 0; t < submitted; ++t) {
    auto reply = client.call(StatusRequest{t, true}, -1);
    if (!reply) return Error{"wait: " + reply.error()};
  }
  auto reply = client.call(RecordsRequest{});
  if (!reply) return Error{reply.error()};
  auto records = std::move(std::get<RecordsReply>(*reply));
  (void)client.call(ShutdownRequest{}, 5);
  {
    std::lock_guard lock(fault_mutex);
    done = true;
  }
  fault_cv.notify_all();
  faults.join();
  cluster.stop_all();
  if (!fault_error.empty()) return Error{"fault injection: " + fault_error};

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
  std::map<std::string, WorkerId> host_index;
  for (const WorkerSpec& h : hosts) {
    host_index[h.name] = static_cast<WorkerId>(out.workers.size());
    const Resources capacity = h.capacity();
    out.workers.push_back({h.name, h.group, h.speed, h.slots, 0, 0, 0, capacity.memory, capacity.gpus});
  }
  // Records per host, whatever incarnations (processes) it went through.
  out.tasks = std::move(records.tasks);
  for (TaskRecord& t : out.tasks) {
    t.submit = rescale(t.submit);
    t.dispatched = rescale(t.dispatched);
    t.start = rescale(t.start);
    t.end = rescale(t.end);
    if (t.worker != kNoWorker) t.worker = host_index.at(records.workers[t.worker].name);
    if (t.state == TaskState::kFinished && t.worker != kNoWorker) {
      ++out.workers[t.worker].tasks;
      out.workers[t.worker].busy_time += t.end - t.start;
    }
  }
  // The daemon's events (wall clock, rescaled) and the injected ones (already scenario
  // time: t0 is scenario time 0).
  for (EventRecord e : read_daemon_events(dir / "journal" / "events.csv")) {
    e.time = rescale(e.time);
    out.events.push_back(std::move(e));
  }
  out.events.insert(out.events.end(), injected.begin(), injected.end());
  std::stable_sort(out.events.begin(), out.events.end(),
                   [](const EventRecord& a, const EventRecord& b) { return a.time < b.time; });
  // Retries from the records themselves: a restarted scheduler's counters start afresh,
  // but attempts are journaled.
  std::uint64_t retried = 0;
  for (const TaskRecord& t : out.tasks) retried += t.attempts > 1 ? t.attempts - 1 : 0;
  out.summary = summarize(out.tasks, out.workers, retried);
  out.jobs = std::move(job_records);
  {
    // A job's submit time is its first task's (all its tasks are accepted together).
    std::size_t first = 0;
    for (std::size_t j = 0; j < out.jobs.size(); ++j) {
      if (first < out.tasks.size()) out.jobs[j].submit = out.tasks[first].submit;
      first += out.jobs[j].tasks;
    }
  }
  summarize_jobs(out.tasks, out.jobs, out.summary);
  summarize_tenants(out, scenario.tenants);
  // Real workers do not move the data; the bytes a placement would move are accounted.
  out.summary.data_moved = bytes_moved(dag_jobs, out.tasks);
  out.summary.wasted_work = records.wasted_work / scale;
  add_fault_metrics(out.events, out.summary);
  // host_seconds: each host's worker process from its start (scenario time 0 for the
  // initial ones; a scale-out's boot, booting included) until it was retired, its start
  // failed, or the run ended — the simulation's powered-on time. Energy is not measured in
  // real mode (energy_joules stays 0).
  double end = 0;
  for (const TaskRecord& t : out.tasks) end = std::max(end, t.end);
  std::map<std::string, double> on_since;
  for (std::size_t h = 0; h < initial; ++h) on_since[hosts[h].name] = 0;
  double host_seconds = 0;
  for (const EventRecord& e : out.events) {
    const double at = std::clamp(e.time, 0.0, end);
    if (e.kind == "boot" && !on_since.count(e.host)) {
      on_since[e.host] = at;
    } else if ((e.kind == "worker_retired" || e.kind == "scale_out_failed") && on_since.count(e.host)) {
      host_seconds += at - on_since[e.host];
      on_since.erase(e.host);
    }
  }
  for (const auto& [name, since] : on_since) host_seconds += end - since;
  out.summary.host_seconds = host_seconds;
  return out;
}

}  // namespace fulcrum::real
