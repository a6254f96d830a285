// The real-mode worker daemon: connects to the scheduler, registers (name, slots, speed,
// the tasks it still runs), runs what it is dispatched — at most `slots` at a time, the
// rest in a local FIFO — and reports started/done. It refuses commands carrying an epoch
// older than the newest it has seen, so a deposed leader cannot dispatch to it.
//
// When the connection drops it keeps running its tasks, reconnects with backoff, and
// claims them in its next Register; results that finished while disconnected are claimed
// too and reported right after the Welcome. Tasks still waiting in its local queue are
// dropped: the scheduler queues them again when it sees the connection go.
#pragma once

#include <asio.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/cluster.h"
#include "core/expected.h"
#include "real/connection.h"
#include "real/executor.h"
#include "real/metrics.h"
#include "real/metrics_server.h"
#include "real/zk.h"

namespace fulcrum::real {

struct WorkerOptions {
  std::string scheduler = "127.0.0.1:7070";  // HOST:PORT
  // What it registers as: name (default: worker-PID), group, speed (flop/s per slot, for
  // synthetic tasks), slots and weight (0: speed x slots), as a scenario's host.
  WorkerSpec worker{"", "real", 1e9, 1, 0};
  double heartbeat_interval = 1.0;           // seconds
  bool verbose = false;
  // Authentication (real/auth.h): a file holding the scheduler's shared secret; empty:
  // none. With one, the worker also verifies the scheduler before it registers.
  std::string secret_file;
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
  std::string render_metrics() const;
  void stop();

 private:
  void connect();
  void reconnect_later();
  void on_message(Message&& m);
  void on_closed(const std::string& reason);
  void start_queued();
  void heartbeat();
  void log(const std::string& line) const;
  void watch_leader();  // reads ROOT/leader (leaving a watch) and follows it

  asio::io_context& io_;
  WorkerOptions options_;
  Endpoint endpoint_;
  std::string secret_;  // from options_.secret_file
  Executor executor_;
  asio::steady_timer retry_timer_;
  asio::steady_timer heartbeat_timer_;
  std::shared_ptr<Connection> conn_;
  bool registered_ = false;
  bool stopping_ = false;
  double backoff_ = 0.05;
  std::uint64_t epoch_ = 0;
  std::deque<std::pair<std::uint64_t, TaskSpec>> queue_;  // dispatched, not started
  std::map<std::uint64_t, TaskOutcome> unreported_;       // finished while disconnected
  // Monitoring.
  std::uint64_t completed_ = 0, failed_ = 0;
  Histogram task_seconds_{seconds_buckets()};  // start to end of each run here
  std::unique_ptr<MetricsServer> metrics_server_;
  std::unique_ptr<ZkClient> zk_;
  std::uint64_t connect_serial_ = 0;  // a connect started before a leader change is dropped
 public:
  ~WorkerDaemon();
};

}  // namespace fulcrum::real
