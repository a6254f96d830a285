#include "real/worker_daemon.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace fulcrum::real {

WorkerDaemon::WorkerDaemon(asio::io_context& io, WorkerOptions options)
    : io_(io), options_(std::move(options)), executor_(io, options_.worker.speed), retry_timer_(io), heartbeat_timer_(io) {
  if (options_.worker.name.empty()) options_.worker.name = "worker-" + std::to_string(::getpid());
}

void WorkerDaemon::log(const std::string& line) const {
  if (options_.verbose) std::fprintf(stderr, "fulcrum worker %s: %s\n", options_.worker.name.c_str(), line.c_str());
}

WorkerDaemon::~WorkerDaemon() { zk_.reset(); }  // its threads end before the daemon goes

void WorkerDaemon::watch_leader() {
  if (stopping_ || !zk_) return;
  const std::string path = options_.zk_root + "/leader";
  int rc = 0;
  auto node = zk_->get(path, true, &rc);
  if (!node) {
    // No leader now: a watch on its creation (exists) wakes us when one is elected.
    if (rc == zk_no_node()) {
      auto there = zk_->exists(path, true);
      if (there && *there) asio::post(io_, [this] { watch_leader(); });
    } else {
      log("ZooKeeper: " + node.error());
    }
    return;
  }
  auto leader = parse_leader(node->data);
  if (!leader) {
    log(leader.error());
    return;
  }
  auto endpoint = parse_endpoint(leader->address);
  if (!endpoint) return;
  // From now on a dispatch of an older epoch is refused, even on a connection still open.
  const bool changed = leader->epoch > epoch_ || endpoint->host != endpoint_.host || endpoint->port != endpoint_.port;
  epoch_ = std::max(epoch_, leader->epoch);
  if (!changed) return;
  log("leader is " + leader->address + " in epoch " + std::to_string(leader->epoch));
  endpoint_ = *endpoint;
  backoff_ = 0.01;
  if (conn_) {
    conn_->close("the leader changed");  // on_closed reconnects to the new one
  } else {
    retry_timer_.cancel();
    connect();
  }
}

Expected<bool> WorkerDaemon::start() {
  if (!options_.zk_hosts.empty()) {
    if (auto ok = check_zk_root(options_.zk_root); !ok) return ok;
    auto zk = ZkClient::connect(options_.zk_hosts, options_.zk_session_timeout, 10, [this](const ZkEvent& e) {
      if (!e.is_session() || e.connected()) asio::post(io_, [this] { watch_leader(); });
    });
    if (!zk) return Error{zk.error()};
    zk_ = std::move(*zk);
    options_.scheduler = "127.0.0.1:0";  // until ZooKeeper names the leader
  }
  auto endpoint = parse_endpoint(options_.scheduler);
  if (!endpoint) return Error{"--scheduler: " + endpoint.error()};
  if (options_.worker.slots <= 0) return Error{"--slots: must be at least 1"};
  if (!(options_.worker.speed > 0)) return Error{"--speed: must be positive"};
  if (!(options_.worker.weight >= 0) || !std::isfinite(options_.worker.weight)) {
    return Error{"--weight: must be a number >= 0 (0: speed x slots)"};
  }
  endpoint_ = *endpoint;
  if (!options_.secret_file.empty()) {
    auto secret = read_secret_file(options_.secret_file);
    if (!secret) return Error{secret.error()};
    secret_ = std::move(*secret);
  }
  metrics_server_ = std::make_unique<MetricsServer>(io_, [this] { return render_metrics(); });
  if (auto m = start_metrics(*metrics_server_, options_.metrics, "127.0.0.1", "worker " + options_.worker.name); !m) return m;
  if (zk_) {
    watch_leader();
  } else {
    connect();
  }
  heartbeat();
  return true;
}

void WorkerDaemon::stop() {
  stopping_ = true;
  retry_timer_.cancel();
  heartbeat_timer_.cancel();
  if (conn_) conn_->close("worker stopping");
  executor_.kill_all();
  if (metrics_server_) metrics_server_->stop();
}

void WorkerDaemon::connect() {
  if (stopping_) return;
  if (endpoint_.port == 0) return;  // no leader known yet (ZooKeeper mode): watch_leader() connects
  auto socket = std::make_shared<asio::ip::tcp::socket>(io_);
  asio::error_code ec;
  const auto address = asio::ip::make_address(endpoint_.host, ec);
  if (ec) {
    std::fprintf(stderr, "fulcrum worker: --scheduler: '%s' is not an IP address\n", endpoint_.host.c_str());
    stop();
    return;
  }
  const std::uint64_t serial = ++connect_serial_;
  socket->async_connect({address, endpoint_.port}, [this, socket, serial](asio::error_code ec) {
    if (stopping_ || serial != connect_serial_) return;
    if (ec) {
      reconnect_later();
      return;
    }
    backoff_ = 0.05;
    conn_ = std::make_shared<Connection>(std::move(*socket));
    // The Register below waits in the connection until the scheduler proved it has the secret.
    if (!secret_.empty()) conn_->require_auth(secret_, /*server=*/false, AuthRole::kWorker);
    conn_->start([this](Message&& m) { on_message(std::move(m)); },
                 [this](const std::string& reason) { on_closed(reason); });
    Register reg{options_.worker, executor_.running_tasks()};
    for (const auto& [task, outcome] : unreported_) reg.running.push_back(task);
    conn_->send(reg);
  });
}

void WorkerDaemon::reconnect_later() {
  if (stopping_) return;
  retry_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(backoff_)));
  backoff_ = std::min(backoff_ * 2, 1.0);
  retry_timer_.async_wait([this](asio::error_code ec) {
    if (!ec) connect();
  });
}

void WorkerDaemon::on_closed(const std::string& reason) {
  if (reason.rfind("authentication failed", 0) == 0) {
    // Logged whatever --verbose says: a worker that cannot authenticate does no work.
    std::fprintf(stderr, "fulcrum worker %s: %s\n", options_.worker.name.c_str(), reason.c_str());
  } else {
    log("disconnected" + (reason.empty() ? std::string() : ": " + reason));
  }
  registered_ = false;
  conn_.reset();
  queue_.clear();
  reconnect_later();
}

void WorkerDaemon::on_message(Message&& message) {
  if (auto* welcome = std::get_if<Welcome>(&message)) {
    if (welcome->epoch < epoch_) {
      conn_->close("refused a Welcome from older epoch " + std::to_string(welcome->epoch));
      return;
    }
    epoch_ = welcome->epoch;
    registered_ = true;
    log("registered as worker " + std::to_string(welcome->worker) + " in epoch " + std::to_string(epoch_));
    for (auto& [task, outcome] : unreported_) conn_->send(TaskDone{task, std::move(outcome)});
    unreported_.clear();
  } else if (auto* dispatch = std::get_if<Dispatch>(&message)) {
    if (dispatch->epoch < epoch_) {
      log("refused a dispatch of task " + std::to_string(dispatch->task) + " from older epoch " +
          std::to_string(dispatch->epoch));
      return;
    }
    log("dispatch of task " + std::to_string(dispatch->task) + " in epoch " + std::to_string(dispatch->epoch));
    queue_.emplace_back(dispatch->task, std::move(dispatch->spec));
    start_queued();
  } else if (auto* cancel = std::get_if<CancelTask>(&message)) {
    if (cancel->epoch < epoch_) return;
    const std::uint64_t t = cancel->task;
    if (!executor_.cancel(t)) {
      std::erase_if(queue_, [t](const auto& entry) { return entry.first == t; });
      unreported_.erase(t);
    }
    start_queued();
  } else if (auto* retire = std::get_if<Retire>(&message)) {
    if (retire->epoch < epoch_) {
      log("refused a Retire from older epoch " + std::to_string(retire->epoch));
      return;
    }
    // Drained by the autoscaler: it holds nothing; stop for good (no reconnection).
    log("retired by the scheduler");
    asio::post(io_, [this] {
      stop();
      if (options_.on_retired) options_.on_retired();
    });
  } else if (auto* error = std::get_if<ErrorReply>(&message)) {
    std::fprintf(stderr, "fulcrum worker %s: scheduler says: %s\n", options_.worker.name.c_str(), error->message.c_str());
  } else {
    conn_->close(std::string("protocol error: unexpected ") + std::string(message_name(message)));
  }
}

void WorkerDaemon::start_queued() {
  while (!queue_.empty() && executor_.running() < static_cast<std::size_t>(options_.worker.slots)) {
    auto [task, desc] = std::move(queue_.front());
    queue_.pop_front();
    if (conn_) conn_->send(TaskStarted{task});
    const auto started = std::chrono::steady_clock::now();
    executor_.start(task, desc, [this, started](std::uint64_t t, TaskOutcome outcome) {
      ++(outcome.exit_code == 0 ? completed_ : failed_);
      task_seconds_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      if (conn_ && registered_) {
        conn_->send(TaskDone{t, std::move(outcome)});
      } else {
        unreported_[t] = std::move(outcome);
      }
      start_queued();
    });
  }
}

void WorkerDaemon::heartbeat() {
  if (stopping_) return;
  if (conn_ && registered_) conn_->send(Heartbeat{static_cast<std::uint32_t>(executor_.running())});
  heartbeat_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(options_.heartbeat_interval)));
  heartbeat_timer_.async_wait([this](asio::error_code ec) {
    if (!ec) heartbeat();
  });
}

}  // namespace fulcrum::real

namespace fulcrum::real {

std::string WorkerDaemon::render_metrics() const {
  MetricsWriter m;
  m.family("fulcrum_worker_info", MetricType::kGauge, "1, labelled with the worker's name and slots");
  const std::string slots = std::to_string(options_.worker.slots);
  m.sample({{"worker", options_.worker.name}, {"slots", slots}}, 1);
  m.gauge("fulcrum_worker_connected", "1 while registered with a scheduler", conn_ && registered_ ? 1 : 0);
  m.gauge("fulcrum_worker_epoch", "The newest scheduler epoch seen", static_cast<double>(epoch_));
  m.gauge("fulcrum_worker_running_tasks", "Tasks running now", static_cast<double>(executor_.running()));
  m.gauge("fulcrum_worker_queued_tasks", "Tasks dispatched here and not started yet", static_cast<double>(queue_.size()));
  m.gauge("fulcrum_worker_unreported_tasks", "Results waiting for the scheduler to come back",
          static_cast<double>(unreported_.size()));
  m.counter("fulcrum_worker_tasks_completed_total", "Task runs that ended with exit code 0",
            static_cast<double>(completed_));
  m.counter("fulcrum_worker_tasks_failed_total", "Task runs that ended otherwise (non-zero exit, timeout, killed)",
            static_cast<double>(failed_));
  m.family("fulcrum_worker_task_seconds", MetricType::kHistogram, "Wall time of each task run here");
  m.histogram(task_seconds_);
  return m.take();
}

}  // namespace fulcrum::real
