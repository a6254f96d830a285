// The real-mode worker daemon: connects to the scheduler, registers (its WorkerSpec:
// name, slots = cores, memory, GPUs and other resources, labels, zone; the tasks it still
// runs), runs what it is dispatched and reports started/done. It refuses commands
// carrying an epoch older than the newest it has seen, so a deposed leader cannot
// dispatch to it.
//
// What runs when is LocalQueue's (core/local_queue.h), as in the simulator: dispatched
// tasks wait in FIFO order and the head starts when its whole request fits what the
// running ones leave free. A dispatch whose request can never fit this worker (more of
// some dimension than it has at all, or a negative / non-finite amount) is refused at
// once: reported failed with reason "unfit" and a line naming the dimension, never queued.
// Each command task's request is enforced as real/cgroups.h says (cgroups, else rlimits;
// `enforce`), and a task that ran out of its memory is reported failed with reason "oom".
// A failed attempt of either kind is retried by the scheduler like any other.
//
// When the connection drops it keeps running its tasks, reconnects with backoff, and
// claims them in its next Register; results that finished while disconnected are claimed
// too and reported right after the Welcome. Tasks still waiting in its local queue are
// dropped: the scheduler queues them again when it sees the connection go.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "core/cluster.h"
#include "core/expected.h"
#include "core/local_queue.h"
#include "real/cgroups.h"
#include "real/connection.h"
#include "real/executor.h"
#include "real/metrics.h"
#include "real/metrics_server.h"
#include "real/zk.h"

namespace fulcrum::real {

// The exit code of a dispatch the worker refused (reason "unfit"): 126, the shell's
// "cannot execute".
inline constexpr std::int32_t kRefusedExitCode = 126;

struct WorkerOptions {
  std::string scheduler = "127.0.0.1:7070";  // HOST:PORT
  // What it registers as: name (default: worker-PID), group, speed (flop/s per slot, for
  // synthetic tasks), slots (cores) and weight (0: speed x slots), resources (memory 0:
  // not limited), labels and zone, as a scenario's host. The CLI fills slots and memory
  // with what it detects (real/worker_resources.h) unless given.
  WorkerSpec worker{"", "real", 1e9, 1, 0};
  // How task requests are enforced: auto | cgroup | cgroup_v2 | cgroup_v1 | rlimit | none
  // (real/cgroups.h), and where /proc says the cgroups are (tests point it elsewhere).
  std::string enforce = "auto";
  CgroupPaths cgroup_paths;
  double heartbeat_interval = 1.0;           // seconds
  bool verbose = false;
  // Prints the startup line (what it offers, how it enforces requests) on stderr; `run
  // --mode real` turns it off for its workers (--quiet) unless --verbose.
  bool announce = true;
  // Authentication (real/auth.h): a file holding the scheduler's shared secret; empty:
  // none. With one, the worker also verifies the scheduler before it registers.
  std::string secret_file;
  // Mutual TLS (real/tls.h): this worker's certificate (role worker in the scheduler's
  // access file), key and the CA; the scheduler must present a scheduler certificate
  // from the same CA or the worker does not register. TLS is on when tls.cert is set.
  TlsFiles tls;
  // Connect to a scheduler beyond loopback (or found through ZooKeeper) without
  // authentication. Without it such a start is refused; with it every start warns.
  bool insecure = false;
  // High availability: find the leader in ZooKeeper (ROOT/leader, "HOST:PORT EPOCH")
  // instead of `scheduler`, follow it when it changes, and refuse older epochs as soon as
  // ZooKeeper names a newer leader.
  std::string zk_hosts;
  std::string zk_root = "/fulcrum";
  double zk_session_timeout = 10;
  // Called after a Retire from the scheduler stopped the daemon (the CLI ends the process).
  std::function<void()> on_retired;
  // Prometheus /metrics over HTTP (port -1: off; host empty: 127.0.0.1).
  MetricsEndpoint metrics;
};

class WorkerDaemon {
 public:
  WorkerDaemon(asio::io_context& io, WorkerOptions options);
  Expected<bool> start();
  std::uint16_t metrics_port() const { return metrics_server_ ? metrics_server_->port() : 0; }
  // After start(): how requests are enforced here.
  EnforcementMode enforcement() const { return enforcer_ ? enforcer_->mode() : EnforcementMode::kNone; }
  std::string render_metrics() const;
  void stop();

 private:
  void connect();
  void reconnect_later();
  void on_message(Message&& m);
  void on_closed(const std::string& reason);
  void start_queued();
  void run(std::uint64_t task, const TaskSpec& spec, std::vector<std::string> env = {});
  void on_done(std::uint64_t task, TaskOutcome outcome, std::chrono::steady_clock::time_point started);
  void refuse(std::uint64_t task, const TaskSpec& spec, const std::string& why);
  void report(std::uint64_t task, TaskOutcome outcome);
  std::string describe_offer() const;  // "cores=2 memory=4 GiB gpus=0 ..., zone z, labels k=v"
  void heartbeat();
  void log(const std::string& line) const;
  void watch_leader();  // reads ROOT/leader (leaving a watch) and follows it

  asio::io_context& io_;
  WorkerOptions options_;
  Endpoint endpoint_;
  std::string secret_;  // from options_.secret_file
  std::shared_ptr<asio::ssl::context> tls_context_;  // from options_.tls
  // Declared before the Executor so that it outlives it: its groups go once the
  // Executor's destruction has killed and reaped every task.
  std::unique_ptr<Enforcer> enforcer_;  // made by start()
  Executor executor_;
  asio::steady_timer retry_timer_;
  asio::steady_timer heartbeat_timer_;
  std::shared_ptr<Connection> conn_;
  bool registered_ = false;
  bool stopping_ = false;
  double backoff_ = 0.05;
  std::uint64_t epoch_ = 0;
  LocalQueue local_{Resources{}};                         // what runs next (capacity set by the constructor)
  std::map<std::uint64_t, Dispatch> waiting_;             // dispatched, not started: in local_
  std::set<std::uint64_t> running_;                       // started, not ended
  std::map<std::uint64_t, TaskOutcome> unreported_;       // finished while disconnected
  // Monitoring.
  std::uint64_t completed_ = 0, failed_ = 0, refused_ = 0, out_of_memory_ = 0;
  Histogram task_seconds_{seconds_buckets()};  // start to end of each run here
  std::unique_ptr<MetricsServer> metrics_server_;
  std::unique_ptr<ZkClient> zk_;
  std::uint64_t connect_serial_ = 0;  // a connect started before a leader change is dropped
 public:
  ~WorkerDaemon();
};

}  // namespace fulcrum::real
