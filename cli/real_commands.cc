#include "cli/real_commands.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <nlohmann/json.hpp>

#include "real/auth.h"
#include "real/certs.h"
#include "real/client.h"
#include "real/tls.h"
#include "real/scheduler_daemon.h"
#include "real/scheduler_flags.h"
#include "real/worker_daemon.h"
#include "real/worker_resources.h"
#include "scenario/scenario.h"
#include "cli/top.h"

namespace fulcrum {
namespace {

constexpr int kExitBadInput = 2;
constexpr int kExitFailed = 1;

// Runs the io_context until SIGINT/SIGTERM, which calls `stop`.
void run_until_signalled(asio::io_context& io, const std::function<void()>& stop) {
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](asio::error_code ec, int) {
    if (!ec) stop();
  });
  io.run();
}

void print_status(const real::TaskStatus& s) {
  std::cout << fmt::format("task {} (job {}): {}", s.task, s.job, s.state);
  if (!s.worker.empty()) std::cout << fmt::format(" on {}", s.worker);
  std::cout << fmt::format(", attempts {}", s.attempts);
  if (s.state == "finished" || s.state == "failed") std::cout << fmt::format(", exit code {}", s.outcome.exit_code);
  // Why the last attempt failed, when the worker said (oom, unfit: docs/real/index.md).
  if (!s.outcome.reason.empty()) std::cout << fmt::format(", reason {}", s.outcome.reason);
  std::cout << "\n";
  if (!s.outcome.output.empty()) std::cout << s.outcome.output << (s.outcome.output.back() == '\n' ? "" : "\n");
}

// An amount of a resource in a job file or a flag: a finite number >= 0; memory may also be
// a size with a unit, as in a scenario ("512MiB", "4GiB", "4G"; scenario/scenario.h).
Expected<double> resource_amount(const std::string& name, const nlohmann::json& v) {
  if (v.is_number()) {
    const double x = v.get<double>();
    if (!std::isfinite(x) || x < 0) return Error{"must be a finite number >= 0"};
    return name == "memory" ? std::ceil(x) : x;
  }
  if (v.is_string() && name == "memory") return parse_bytes(v.get<std::string>());
  return Error{name == "memory" ? "must be a number of bytes or a size such as \"512MiB\", \"4GiB\", \"4G\""
                                : "must be a finite number >= 0"};
}

// A task's "request": {"cores": 2, "memory": "4GiB", "gpus": 1, "licence": 1}.
Expected<Resources> read_request(const nlohmann::json& j) {
  if (!j.is_object()) return Error{"must be an object such as {\"cores\": 2, \"memory\": \"4GiB\", \"gpus\": 1}"};
  Resources r{.cores = 1};
  for (const auto& [name, value] : j.items()) {
    if (name.empty()) return Error{"a resource needs a name"};
    auto amount = resource_amount(name, value);
    if (!amount) return Error{"." + name + ": " + amount.error()};
    if (name == "cores") {
      r.cores = *amount;
    } else if (name == "memory") {
      r.memory = *amount;
    } else if (name == "gpus") {
      r.gpus = *amount;
    } else {
      r.other[name] = *amount;
    }
  }
  return r;
}

// A task's "require": {"disk": "ssd", "zone": "eu"} (labels the worker must carry; "zone":
// its zone). Values are strings (numbers and booleans are taken as written).
Expected<std::map<std::string, std::string>> read_require(const nlohmann::json& j) {
  if (!j.is_object()) return Error{"must be an object such as {\"disk\": \"ssd\", \"zone\": \"eu\"}"};
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : j.items()) {
    if (key.empty()) return Error{"a label needs a name"};
    if (value.is_string()) {
      out[key] = value.get<std::string>();
    } else if (value.is_number() || value.is_boolean()) {
      out[key] = value.dump();
    } else {
      return Error{"." + key + ": must be a string"};
    }
  }
  return out;
}

// A job file: {"tasks": [{"command": "...", "timeout": 5, "parents": [0],
// "request": {"cores": 2, "memory": "4GiB"}, "require": {"disk": "ssd"}, "spread": "zone"}, ...]},
// with "gang": true for a rigid job (its tasks start together; docs/backfilling.md).
Expected<JobSpec> read_job_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{path + ": cannot read file"};
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    return Error{path + ": not JSON: " + e.what()};
  }
  if (!j.is_object() || !j.contains("tasks") || !j["tasks"].is_array() || j["tasks"].empty()) {
    return Error{path + ": expected {\"tasks\": [{\"command\": ...}, ...]}"};
  }
  JobSpec job;
  for (const auto& [key, value] : j.items()) {
    if (key != "tasks" && key != "gang") return Error{path + ": unknown key '" + key + "' (tasks, gang)"};
  }
  if (j.contains("gang")) {
    if (!j["gang"].is_boolean()) return Error{path + ": gang: must be true or false"};
    job.gang = j["gang"].get<bool>();
  }
  for (std::size_t i = 0; i < j["tasks"].size(); ++i) {
    const auto& t = j["tasks"][i];
    const std::string where = path + ": tasks[" + std::to_string(i) + "]";
    if (job.gang && t.is_object() && t.contains("parents")) return Error{where + ": a gang's tasks cannot have parents"};
    if (!t.is_object() || !t.contains("command") || !t["command"].is_string()) {
      return Error{where + ": needs a string \"command\""};
    }
    for (const auto& [key, value] : t.items()) {
      if (key != "command" && key != "timeout" && key != "parents" && key != "request" && key != "require" &&
          key != "spread") {
        return Error{where + ": unknown key '" + key + "' (command, timeout, parents, request, require, spread)"};
      }
    }
    TaskSpec d;
    d.kind = TaskKind::kCommand;
    d.command = t["command"];
    if (t.contains("timeout")) {
      if (!t["timeout"].is_number() || t["timeout"].get<double>() < 0) return Error{where + ".timeout: must be a number >= 0"};
      d.timeout = t["timeout"];
    }
    if (t.contains("parents")) {
      if (!t["parents"].is_array()) return Error{where + ".parents: must be a list of task indices"};
      for (const auto& p : t["parents"]) {
        if (!p.is_number_unsigned() || p.get<std::uint64_t>() >= i) {
          return Error{where + ".parents: each must be the index of an earlier task"};
        }
        d.parents.push_back(p.get<std::uint32_t>());
      }
    }
    if (t.contains("request")) {
      auto request = read_request(t["request"]);
      if (!request) return Error{where + ".request" + (request.error()[0] == '.' ? "" : ": ") + request.error()};
      d.request = std::move(*request);
    }
    if (t.contains("require")) {
      auto require = read_require(t["require"]);
      if (!require) return Error{where + ".require" + (require.error()[0] == '.' ? "" : ": ") + require.error()};
      d.require = std::move(*require);
    }
    if (t.contains("spread")) {
      const auto& v = t["spread"];
      const std::string spread = v.is_string() ? v.get<std::string>() : "";
      if (spread == "zone") {
        d.spread = Spread::kZone;
      } else if (spread == "host") {
        d.spread = Spread::kHost;
      } else if (spread != "none") {
        return Error{where + ".spread: must be \"zone\", \"host\" or \"none\""};
      }
    }
    job.tasks.push_back(std::move(d));
  }
  return job;
}

// `submit --request cores=2,memory=4GiB,gpus=1` into `r` (cores 1 unless given).
Expected<bool> parse_request_flag(const std::string& text, Resources& r) {
  r = Resources{.cores = 1};
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t end = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, end - at);
    at = end + 1;
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) return Error{"'" + item + "' is not NAME=AMOUNT (e.g. cores=2,memory=4GiB)"};
    const std::string name = item.substr(0, eq), value = item.substr(eq + 1);
    nlohmann::json amount;
    char* stop = nullptr;
    const double x = std::strtod(value.c_str(), &stop);
    if (!value.empty() && stop == value.c_str() + value.size()) {
      amount = x;
    } else {
      amount = value;
    }
    auto parsed = resource_amount(name, amount);
    if (!parsed) return Error{name + ": " + parsed.error()};
    if (name == "cores") {
      r.cores = *parsed;
    } else if (name == "memory") {
      r.memory = *parsed;
    } else if (name == "gpus") {
      r.gpus = *parsed;
    } else {
      r.other[name] = *parsed;
    }
  }
  return true;
}

// --cert, --key, --ca (and a scheduler's --crl) as given; real::tls_files_for fills the rest.
struct TlsFlags {
  std::string cert, key, ca, crl;
  real::TlsFiles files() const { return real::tls_files_for(cert, key, ca, crl); }
};

void add_tls_flags(CLI::App& c, TlsFlags& t, bool server) {
  c.add_option("--cert", t.cert,
               server ? "This scheduler's TLS certificate (fulcrum certs issue DIR NAME --role scheduler): every "
                        "connection is mutual TLS 1.3; needs --access"
                      : "This identity's TLS certificate (fulcrum certs issue DIR NAME --role ...): mutual TLS 1.3 "
                        "with the scheduler");
  c.add_option("--key", t.key, "Its private key (default: the --cert path with .key)");
  c.add_option("--ca", t.ca, "The CA certificate (default: ca.crt beside --cert)");
  if (server) c.add_option("--crl", t.crl, "The CA's revocation list (default: ca.crl beside --cert, if there)");
}

}  // namespace

std::vector<std::pair<CLI::App*, std::function<int()>>> add_real_commands(CLI::App& app) {
  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;

  auto sched = std::make_shared<real::SchedulerOptions>();
  auto port_file = std::make_shared<std::string>();
  CLI::App* s = app.add_subcommand("scheduler", "Run the scheduler daemon (real mode)");
  s->add_option("--listen", sched->listen, "HOST:PORT to listen on (port 0: pick one)")->capture_default_str();
  s->add_option("--journal", sched->journal_dir, "Journal folder (replayed on start); with --zk, only this replica's events.csv");
  s->add_option("--zk", sched->zk_hosts, "ZooKeeper HOST:PORT[,...]: run as a replica, journal in ZooKeeper (docs/real/ha-zookeeper.md)");
  s->add_option("--zk-root", sched->zk_root, "ZooKeeper path of this cluster")->capture_default_str();
  s->add_option("--zk-session-timeout", sched->zk_session_timeout, "ZooKeeper session timeout (s): how fast a dead leader is replaced")
      ->capture_default_str();
  s->add_option("--zk-snapshot-every", sched->zk_snapshot_every,
                "Batches written between snapshots of the ZooKeeper journal, each compacting it (0: never)")
      ->capture_default_str();
  s->add_option("--policy", sched->policy, "Policy spec")->capture_default_str();
  s->add_option("--grace", sched->reconcile_grace, "Seconds workers have to reclaim tasks after a restart")->capture_default_str();
  s->add_option("--port-file", *port_file, "Write the port listened on to this file once ready");
  s->add_flag("--verbose", sched->verbose, "Log connections and errors on stderr");
  s->add_option("--secret-file", sched->secret_file,
                "Shared secret (>= 16 bytes, mode 600): workers and clients must prove they have it");
  auto sched_tls = std::make_shared<TlsFlags>();
  add_tls_flags(*s, *sched_tls, true);
  s->add_option("--access", sched->access_file,
                "Access file: identity -> role and tenant (docs/real/security.md); reloaded on SIGHUP or when it changes");
  s->add_flag("--insecure", sched->insecure,
              "Listen beyond loopback without authentication (refused otherwise; warned at every start)");
  s->add_option("--metrics-port", sched->metrics.port, "Serve Prometheus GET /metrics on this port (0: pick one; off when absent)")
      ->check(CLI::Range(0, 65535));
  s->add_option("--metrics-host", sched->metrics.host, "Address /metrics binds to (default: the --listen host)");
  s->add_option("--metrics-port-file", sched->metrics.port_file, "Write the metrics port to this file once ready");
  // The core's options, the autoscaler's last (real/scheduler_flags.h); then the daemon's
  // own autoscaling commands.
  real::add_scheduler_flags(*s, sched->core);
  s->add_option("--scale-out-command", sched->scale_out_command,
                "Shell command starting one worker; {address} and {name} are replaced (also $FULCRUM_SCHEDULER, $FULCRUM_WORKER_NAME)");
  s->add_option("--scale-in-command", sched->scale_in_command,
                "Shell command run after a retired worker was told to exit ({address}, {name})");
  s->add_option("--scale-out-names", sched->scale_out_names, "Worker names to start, first free first (default: scaled-EPOCH-N)")
      ->delimiter(',');
  s->add_option("--boot-timeout", sched->boot_timeout, "Seconds a started worker has to register")->capture_default_str();
  auto exit_on_fence = std::make_shared<bool>(false);
  s->add_flag("--exit-on-fence", *exit_on_fence,
              "With --zk: exit (status 3) when fenced or the session is lost, instead of rejoining as a standby");
  runners.emplace_back(s, [sched, port_file, exit_on_fence, sched_tls] {
    sched->tls = sched_tls->files();
    const bool replica = !sched->zk_hosts.empty();
    // A replica that lost its place (fenced, session lost, ZooKeeper unreachable) starts
    // afresh in the same process: a new session, a new place in the election line. The
    // pause between two tries grows while they keep failing fast; it is taken once the
    // old daemon is gone, its ZooKeeper session closed.
    auto pause = std::chrono::milliseconds(0);
    for (;;) {
      std::this_thread::sleep_for(pause);
      const auto began = std::chrono::steady_clock::now();
      auto next_pause = [&] {
        const bool quick = std::chrono::steady_clock::now() - began < std::chrono::seconds(10);
        return quick ? std::min(std::chrono::milliseconds(2000), std::max(pause * 2, std::chrono::milliseconds(250)))
                     : std::chrono::milliseconds(250);
      };
      asio::io_context io;
      real::SchedulerDaemon daemon(io, *sched);
      if (auto started = daemon.start(); !started) {
        std::cerr << "error: " << started.error() << "\n";
        if (!replica || !daemon.start_may_succeed_later() || *exit_on_fence) return kExitBadInput;
        pause = next_pause();
        continue;
      }
      if (!port_file->empty()) {
        const std::string tmp = *port_file + ".tmp";
        std::ofstream(tmp) << daemon.port() << "\n";
        std::rename(tmp.c_str(), port_file->c_str());  // readers never see half a number
      }
      if (sched->verbose) std::cerr << fmt::format("fulcrum scheduler: listening on port {}, epoch {}\n", daemon.port(), daemon.epoch());
      bool signalled = false;
      // SIGHUP: read the access file and the CRL again (revoked identities are cut off).
      asio::signal_set hangups(io, SIGHUP);
      std::function<void()> on_hangup = [&] {
        hangups.async_wait([&](asio::error_code ec, int) {
          if (ec) return;
          if (auto r = daemon.reload(); !r) std::cerr << "fulcrum scheduler: reload failed, kept the old settings: " << r.error() << "\n";
          on_hangup();
        });
      };
      on_hangup();
      run_until_signalled(io, [&] {
        signalled = true;
        hangups.cancel();
        daemon.stop();
      });
      if (signalled || daemon.fatal().empty()) return 0;
      // Stopped on its own: a single scheduler whose journal failed exits (a restart
      // replays what is durable); a replica rejoins.
      if (!replica || *exit_on_fence) return 3;
      std::cerr << "fulcrum scheduler: rejoining as a standby\n";
      pause = next_pause();
    }
  });

  auto worker = std::make_shared<real::WorkerOptions>();
  auto offer = std::make_shared<real::WorkerResourceFlags>();
  CLI::App* w = app.add_subcommand("worker", "Run a worker daemon (real mode)");
  w->add_option("--scheduler", worker->scheduler, "Scheduler HOST:PORT")->capture_default_str();
  w->add_option("--zk", worker->zk_hosts, "ZooKeeper HOST:PORT[,...]: find and follow the leader there instead of --scheduler");
  w->add_option("--zk-root", worker->zk_root, "ZooKeeper path of the cluster")->capture_default_str();
  w->add_option("--slots", offer->slots,
                "Cores it offers: the running tasks' core requests add up to at most this (default: the CPUs this "
                "process may use, within its cgroup's quota)")
      ->check(CLI::Range(1, 4096));
  w->add_option("--memory", offer->memory,
                "Memory it offers: bytes or 512MiB, 4GiB, 4G (= 4e9) (default: MemTotal, or its cgroup's limit if lower; "
                "0: not limited)");
  w->add_option("--resources", offer->resources, "Other resources it offers: NAME=AMOUNT[,...], e.g. gpus=2,licence=4");
  w->add_option("--label", offer->labels, "A label KEY=VALUE tasks may require (repeatable)");
  w->add_option("--zone", offer->zone, "The zone it is in (tasks may require zone: NAME)");
  w->add_option("--enforce", worker->enforce,
                "How each task's request is held: auto (cgroup v2, else v1, else rlimit), cgroup, cgroup_v2, cgroup_v1, "
                "rlimit, none")
      ->capture_default_str();
  w->add_option("--speed", worker->worker.speed, "flop/s per slot, for synthetic tasks")->capture_default_str();
  w->add_option("--name", worker->worker.name, "Worker name (default: worker-PID)");
  w->add_option("--group", worker->worker.group, "Host group, as a scenario's group name (policies and learned models may use it)")
      ->capture_default_str();
  w->add_option("--weight", worker->worker.weight, "Weight for the weighted policies (0: speed x slots)")
      ->capture_default_str();
  w->add_option("--heartbeat", worker->heartbeat_interval, "Seconds between heartbeats")->capture_default_str();
  w->add_flag("--verbose", worker->verbose, "Log on stderr");
  auto quiet = std::make_shared<bool>(false);
  w->add_flag("--quiet", *quiet,
              "Do not print the startup line (what it offers, how it enforces requests; --verbose prints it anyway)");
  w->add_option("--secret-file", worker->secret_file,
                "The scheduler's shared secret (mode 600): authenticate, and verify the scheduler");
  auto worker_tls = std::make_shared<TlsFlags>();
  add_tls_flags(*w, *worker_tls, false);
  w->add_flag("--insecure", worker->insecure,
              "Take commands from a scheduler beyond loopback without authentication (refused otherwise)");
  w->add_option("--metrics-port", worker->metrics.port, "Serve Prometheus GET /metrics on this port (0: pick one; off when absent)")
      ->check(CLI::Range(0, 65535));
  w->add_option("--metrics-host", worker->metrics.host, "Address /metrics binds to (default: 127.0.0.1)");
  w->add_option("--metrics-port-file", worker->metrics.port_file, "Write the metrics port to this file once ready");
  runners.emplace_back(w, [worker, offer, quiet, worker_tls] {
    asio::io_context io;
    real::WorkerOptions options = *worker;
    options.tls = worker_tls->files();
    options.announce = !*quiet;
    if (auto ok = real::apply_worker_resource_flags(*offer, real::read_cgroup_layout(options.cgroup_paths), options.worker);
        !ok) {
      std::cerr << "error: " << ok.error() << "\n";
      return kExitBadInput;
    }
    options.on_retired = [&io] { io.stop(); };  // retired by the autoscaler: the process ends
    real::WorkerDaemon daemon(io, options);
    if (auto started = daemon.start(); !started) {
      std::cerr << "error: " << started.error() << "\n";
      return kExitBadInput;
    }
    run_until_signalled(io, [&] { daemon.stop(); });
    return 0;
  });

  struct ClientArgs {
    std::string scheduler = "127.0.0.1:7070";
    std::uint64_t task = 0;
    std::vector<std::string> command;
    std::string file;
    double timeout = 0;
    std::string secret_file;
    TlsFlags tls;
    std::string zk;
    std::string zk_root = "/fulcrum";
    double retry_for = -1;  // seconds; < 0: 60 with --zk, else 0
  };
  auto add_client = [&](const char* name, const char* help, bool takes_id) {
    auto args = std::make_shared<ClientArgs>();
    CLI::App* c = app.add_subcommand(name, help);
    c->add_option("--scheduler", args->scheduler, "Scheduler HOST:PORT")->capture_default_str();
    c->add_option("--secret-file", args->secret_file, "The scheduler's shared secret (mode 600), if it has one");
    add_tls_flags(*c, args->tls, false);
    c->add_option("--zk", args->zk, "ZooKeeper HOST:PORT[,...]: find the leader there instead of --scheduler");
    c->add_option("--zk-root", args->zk_root, "ZooKeeper path of the cluster")->capture_default_str();
    c->add_option("--retry-for", args->retry_for,
                  "Seconds to keep trying when the scheduler cannot be reached or the reply is lost, finding the "
                  "leader again each time (default: 60 with --zk, else 0)");
    if (takes_id) c->add_option("id", args->task, "Task id")->required();
    return std::pair{c, args};
  };
  // Connects (authenticated with --secret-file); prints the error and sets `exit_code` if not.
  auto connect_client = [](const ClientArgs& a, int& exit_code) -> std::unique_ptr<real::Client> {
    std::string secret;
    if (!a.secret_file.empty()) {
      auto read = real::read_secret_file(a.secret_file);
      if (!read) {
        std::cerr << "error: " << read.error() << "\n";
        exit_code = kExitBadInput;
        return nullptr;
      }
      secret = std::move(*read);
    }
    std::string address = a.scheduler;
    if (!a.zk.empty()) {
      auto leader = real::find_leader(a.zk, a.zk_root, 15);
      if (!leader) {
        std::cerr << "error: " << leader.error() << "\n";
        exit_code = kExitFailed;
        return nullptr;
      }
      address = leader->address;
    }
    real::ClientCredentials credentials{secret, nullptr};
    if (!a.tls.cert.empty() || !a.tls.ca.empty()) {
      real::TlsFiles files = a.tls.files();
      if (a.tls.cert.empty()) files.ca = a.tls.ca;  // --ca alone: verify the scheduler, present nothing
      auto context = real::make_tls_context(files, real::TlsSide::kClient);
      if (!context) {
        std::cerr << "error: " << context.error() << "\n";
        exit_code = kExitBadInput;
        return nullptr;
      }
      credentials.tls = std::move(*context);
    }
    auto client = real::Client::connect(address, 5, credentials);
    if (!client) {
      std::cerr << "error: " << client.error() << "\n";
      exit_code = kExitFailed;
      return nullptr;
    }
    return std::move(*client);
  };
  // Sends `request` and returns the reply. A call that got no answer (nobody to connect to,
  // the connection lost: a failover under way) is tried again, on the leader found anew,
  // until it has failed for --retry-for seconds in a row (a call that stood for a while,
  // such as a long `wait`, starts the count afresh); an answer, even a refusal, is final.
  // Requests are safe to repeat: Submit carries a request id, the others are reads or
  // idempotent. Prints the error and sets `exit_code` on failure.
  auto call_retrying = [connect_client](const ClientArgs& a, const real::Message& request, double timeout,
                                        int& exit_code) -> std::optional<real::Message> {
    using Clock = std::chrono::steady_clock;
    const auto patience = std::chrono::duration<double>(a.retry_for >= 0 ? a.retry_for : a.zk.empty() ? 0 : 60);
    auto failing_since = Clock::now();
    for (int tries = 0;; ++tries) {
      exit_code = 0;
      if (auto client = connect_client(a, exit_code)) {
        const auto sent = Clock::now();
        auto reply = client->call(request, timeout);
        if (reply) return std::move(*reply);
        std::cerr << "error: " << reply.error() << "\n";
        exit_code = kExitFailed;
        if (client->refused()) return std::nullopt;
        if (Clock::now() - sent > std::chrono::seconds(5)) {
          failing_since = Clock::now();
          tries = 0;
        }
      } else if (exit_code == kExitBadInput) {
        return std::nullopt;
      }
      if (Clock::now() - failing_since >= patience) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(1000, 100 << std::min(tries, 4))));
    }
  };

  auto [submit, submit_args] = add_client("submit", "Submit a command (or a job file) and print the task ids", false);
  submit->add_option("--timeout", submit_args->timeout, "Seconds before the command is killed (0: never)");
  submit->add_option("--file", submit_args->file,
                     "A job file: {\"tasks\": [{\"command\": ..., \"timeout\": ..., \"parents\": [...], \"request\": "
                     "{\"cores\": 2, \"memory\": \"4GiB\"}, \"require\": {\"disk\": \"ssd\"}, \"spread\": \"zone\"}]}");
  submit->add_option("command", submit_args->command, "The command and its arguments (after --)");
  auto task_needs = std::make_shared<std::pair<std::string, std::vector<std::string>>>();
  submit->add_option("--request", task_needs->first,
                     "What the command needs on its worker: NAME=AMOUNT[,...], e.g. cores=2,memory=4GiB,gpus=1 "
                     "(default: one core)");
  submit->add_option("--require", task_needs->second,
                     "A label KEY=VALUE its worker must carry; zone=NAME: the worker's zone (repeatable)");
  auto gang = std::make_shared<unsigned>(0);
  submit->add_option("--gang", *gang,
                     "Run the command N times at once, as one rigid job (a gang): each copy sees FULCRUM_RANK, "
                     "FULCRUM_SIZE and FULCRUM_HOSTS (docs/backfilling.md)")
      ->check(CLI::Range(1u, 1000000u));
  auto request_id = std::make_shared<std::string>();
  submit->add_option("--request-id", *request_id,
                     "Name this submission (default: a random one): the scheduler accepts a name once, so a retry "
                     "cannot make a second job");
  runners.emplace_back(submit, [a = submit_args, call_retrying, request_id, task_needs, gang] {
    JobSpec job;
    if (!a->file.empty() && (!task_needs->first.empty() || !task_needs->second.empty())) {
      std::cerr << "error: --request and --require are for a command; a job file gives each task's own\n";
      return kExitBadInput;
    }
    if (!a->file.empty() && *gang > 0) {
      std::cerr << "error: --gang is for a command; a job file says \"gang\": true\n";
      return kExitBadInput;
    }
    if (!a->file.empty()) {
      auto read = read_job_file(a->file);
      if (!read) {
        std::cerr << "error: " << read.error() << "\n";
        return kExitBadInput;
      }
      job = std::move(*read);
    } else if (!a->command.empty()) {
      std::string cmd;
      for (const std::string& word : a->command) {
        // Quote each word for /bin/sh so that arguments arrive as they were given.
        std::string quoted = "'";
        for (char ch : word) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
        cmd += (cmd.empty() ? "" : " ") + quoted + "'";
      }
      TaskSpec task;
      task.kind = TaskKind::kCommand;
      task.command = cmd;
      task.timeout = a->timeout;
      if (!task_needs->first.empty()) {
        if (auto ok = parse_request_flag(task_needs->first, task.request); !ok) {
          std::cerr << "error: --request: " << ok.error() << "\n";
          return kExitBadInput;
        }
      }
      for (const std::string& label : task_needs->second) {
        const std::size_t eq = label.find('=');
        if (eq == std::string::npos || eq == 0) {
          std::cerr << "error: --require: '" << label << "' is not KEY=VALUE (e.g. disk=ssd, zone=eu)\n";
          return kExitBadInput;
        }
        task.require[label.substr(0, eq)] = label.substr(eq + 1);
      }
      job.tasks.assign(std::max(1u, *gang), task);
      job.gang = *gang > 1;
    } else {
      std::cerr << "error: submit needs a command after -- or --file\n";
      return kExitBadInput;
    }
    real::Submit request{job, *request_id};
    if (request.request_id.empty()) {
      std::random_device random;
      request.request_id = fmt::format("{:08x}{:08x}{:08x}{:08x}", random(), random(), random(), random());
    }
    if (request.request_id.size() > real::kMaxRequestId) {
      std::cerr << "error: --request-id: longer than " << real::kMaxRequestId << " bytes\n";
      return kExitBadInput;
    }
    // A lost reply may hide an accepted job: the retry carries the same request id, so a
    // scheduler that journaled it (even a new leader) answers with the same task ids.
    int exit_code = 0;
    auto reply = call_retrying(*a, request, 30, exit_code);
    if (!reply) return exit_code;
    const auto& ok = std::get<real::Submitted>(*reply);
    for (std::uint32_t i = 0; i < ok.count; ++i) std::cout << ok.first_task + i << "\n";
    return 0;
  });

  auto status_like = [&](const char* name, const char* help, bool wait) {
    auto [cmd, args] = add_client(name, help, true);
    runners.emplace_back(cmd, [args, wait, call_retrying] {
      int exit_code = 0;
      // With --zk, `wait` outlives a failover: it asks the new leader again.
      auto reply = call_retrying(*args, real::StatusRequest{args->task, wait}, wait ? -1 : 30, exit_code);
      if (!reply) return exit_code;
      const auto& status = std::get<real::TaskStatus>(*reply);
      print_status(status);
      if (!wait) return 0;
      // `wait` exits like the task: 0 when it finished, 1 otherwise.
      return status.state == "finished" ? 0 : kExitFailed;
    });
  };
  status_like("status", "Print a task's state, worker, exit code and output", false);
  status_like("wait", "Wait until a task is finished, failed or cancelled, then print its status", true);

  auto [cancel, cancel_args] = add_client("cancel", "Cancel the job of a task", true);
  runners.emplace_back(cancel, [a = cancel_args, call_retrying] {
    int exit_code = 0;
    auto reply = call_retrying(*a, real::CancelRequest{a->task}, 30, exit_code);
    if (!reply) return exit_code;
    std::cout << "cancelled the job of task " << a->task << "\n";
    return 0;
  });
  // `fulcrum certs`: a small CA (real/certs.h; docs/real/security.md).
  CLI::App* certs = app.add_subcommand("certs", "Make a small CA, issue and revoke TLS certificates (real mode)");
  certs->require_subcommand(1);
  struct CertsArgs {
    std::string dir, name, role, tenant;
    int days = 0;
  };
  auto cargs = std::make_shared<CertsArgs>();
  CLI::App* init = certs->add_subcommand("init", "Create DIR with a CA (ca.key, ca.crt), an empty CRL and access.yaml");
  init->add_option("dir", cargs->dir, "The CA folder")->required();
  init->add_option("--days", cargs->days, "Days the CA is valid (default 3650)");
  runners.emplace_back(init, [cargs] {
    if (auto ok = real::certs_init(cargs->dir, cargs->days > 0 ? cargs->days : 3650); !ok) {
      std::cerr << "error: " << ok.error() << "\n";
      return kExitBadInput;
    }
    std::cout << "CA in " << cargs->dir << " (keep " << cargs->dir << "/ca.key off the cluster's machines)\n";
    return 0;
  });
  CLI::App* issue = certs->add_subcommand("issue", "Issue NAME's key and certificate (NAME.key, NAME.crt) and add it to access.yaml");
  issue->add_option("dir", cargs->dir, "The CA folder")->required();
  issue->add_option("name", cargs->name, "The identity (the certificate's common name)")->required();
  issue->add_option("--role", cargs->role, "scheduler, operator, submitter, worker or viewer")->required();
  issue->add_option("--tenant", cargs->tenant, "A submitter's tenant: its jobs belong to it");
  issue->add_option("--days", cargs->days, "Days the certificate is valid (default 825)");
  runners.emplace_back(issue, [cargs] {
    auto path = real::certs_issue(cargs->dir, cargs->name, cargs->role, cargs->tenant, cargs->days > 0 ? cargs->days : 825);
    if (!path) {
      std::cerr << "error: " << path.error() << "\n";
      return kExitBadInput;
    }
    std::cout << *path << "\n";
    return 0;
  });
  CLI::App* revoke = certs->add_subcommand("revoke", "Revoke NAME's certificate (added to ca.crl; the scheduler cuts its connections)");
  revoke->add_option("dir", cargs->dir, "The CA folder")->required();
  revoke->add_option("name", cargs->name, "The identity")->required();
  runners.emplace_back(revoke, [cargs] {
    if (auto ok = real::certs_revoke(cargs->dir, cargs->name); !ok) {
      std::cerr << "error: " << ok.error() << "\n";
      return kExitBadInput;
    }
    std::cout << "revoked " << cargs->name << " in " << cargs->dir << "/ca.crl (a scheduler reading it reloads it)\n";
    return 0;
  });

  add_top_command(app, runners);
  return runners;
}

}  // namespace fulcrum
