#include "real/worker_daemon.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace fulcrum::real {

WorkerDaemon::WorkerDaemon(asio::io_context& io, WorkerOptions options)
    : io_(io), options_(std::move(options)), executor_(io, options_.speed), retry_timer_(io), heartbeat_timer_(io) {
  if (options_.name.empty()) options_.name = "worker-" + std::to_string(::getpid());
}

void WorkerDaemon::log(const std::string& line) const {
  if (options_.verbose) std::fprintf(stderr, "fulcrum worker %s: %s\n", options_.name.c_str(), line.c_str());
}

Expected<bool> WorkerDaemon::start() {
  auto endpoint = parse_endpoint(options_.scheduler);
  if (!endpoint) return Error{"--scheduler: " + endpoint.error()};
  if (options_.slots == 0) return Error{"--slots: must be at least 1"};
  if (!(options_.speed > 0)) return Error{"--speed: must be positive"};
  endpoint_ = *endpoint;
  metrics_server_ = std::make_unique<MetricsServer>(io_, [this] { return render_metrics(); });
  if (auto m = start_metrics(*metrics_server_, options_.metrics, "127.0.0.1", "worker " + options_.name); !m) return m;
  connect();
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
  auto socket = std::make_shared<asio::ip::tcp::socket>(io_);
  asio::error_code ec;
  const auto address = asio::ip::make_address(endpoint_.host, ec);
  if (ec) {
    std::fprintf(stderr, "fulcrum worker: --scheduler: '%s' is not an IP address\n", endpoint_.host.c_str());
    stop();
    return;
  }
  socket->async_connect({address, endpoint_.port}, [this, socket](asio::error_code ec) {
    if (stopping_) return;
    if (ec) {
      reconnect_later();
      return;
    }
    backoff_ = 0.05;
    conn_ = std::make_shared<Connection>(std::move(*socket));
    conn_->start([this](Message&& m) { on_message(std::move(m)); },
                 [this](const std::string& reason) { on_closed(reason); });
    Register reg{options_.name, options_.slots, options_.speed, executor_.running_tasks()};
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
  log("disconnected" + (reason.empty() ? std::string() : ": " + reason));
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
      log("refused a dispatch from older epoch " + std::to_string(dispatch->epoch));
      return;
    }
    queue_.emplace_back(dispatch->task, std::move(dispatch->desc));
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
    std::fprintf(stderr, "fulcrum worker %s: scheduler says: %s\n", options_.name.c_str(), error->message.c_str());
  } else {
    conn_->close(std::string("protocol error: unexpected ") + std::string(message_name(message)));
  }
}

void WorkerDaemon::start_queued() {
  while (!queue_.empty() && executor_.running() < options_.slots) {
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
  const std::string slots = std::to_string(options_.slots);
  m.sample({{"worker", options_.name}, {"slots", slots}}, 1);
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
