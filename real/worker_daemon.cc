#include "real/worker_daemon.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "real/worker_resources.h"

namespace fulcrum::real {

WorkerDaemon::WorkerDaemon(asio::io_context& io, WorkerOptions options)
    : io_(io), options_(std::move(options)), executor_(io, options_.worker.speed), retry_timer_(io), heartbeat_timer_(io) {
  if (options_.worker.name.empty()) options_.worker.name = "worker-" + std::to_string(::getpid());
  local_ = LocalQueue(options_.worker.capacity());
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
  if (const std::string bad = first_bad_amount(options_.worker.resources); !bad.empty()) {
    return Error{(bad == "memory" ? "--memory" : "--resources " + bad) + ": must be a finite number >= 0"};
  }
  if (!enforcer_) {
    auto enforcer = Enforcer::create(options_.enforce, options_.cgroup_paths);
    if (!enforcer) return Error{enforcer.error()};
    enforcer_ = std::move(*enforcer);
  }
  // Said whatever --verbose says (unless --quiet): what it offers and how it holds tasks to their requests.
  if (options_.announce || options_.verbose) {
    std::fprintf(stderr, "fulcrum worker %s: offers %s; enforcement %s\n", options_.worker.name.c_str(),
                 describe_offer().c_str(), enforcer_->description().c_str());
  }
  endpoint_ = *endpoint;
  if (!options_.secret_file.empty()) {
    auto secret = read_secret_file(options_.secret_file);
    if (!secret) return Error{secret.error()};
    secret_ = std::move(*secret);
  }
  if (options_.tls.enabled()) {
    auto context = make_tls_context(options_.tls, TlsSide::kClient);
    if (!context) return Error{context.error()};
    tls_context_ = std::move(*context);
  }
  if (!tls_context_ && secret_.empty()) {
    // A worker runs whatever its scheduler sends: beyond loopback, an unauthenticated one
    // would obey anyone who can answer on that address.
    bool loopback = options_.zk_hosts.empty() ? endpoint->host.rfind("127.", 0) == 0 : true;
    for (std::size_t at = 0; !options_.zk_hosts.empty() && at <= options_.zk_hosts.size();) {
      // Leaders found through ZooKeeper: loopback only if every server is.
      const std::size_t end = std::min(options_.zk_hosts.find(',', at), options_.zk_hosts.size());
      const std::string host = options_.zk_hosts.substr(at, end - at);
      loopback = loopback && (host.rfind("127.", 0) == 0 || host.rfind("localhost", 0) == 0);
      at = end + 1;
    }
    if (!loopback && !options_.insecure) {
      return Error{(options_.zk_hosts.empty() ? "--scheduler " + options_.scheduler : "--zk " + options_.zk_hosts) +
                   ": refusing to take commands from a scheduler beyond loopback without authentication: pass --cert "
                   "with this worker's certificate (fulcrum certs issue DIR NAME --role worker; "
                   "docs/real/security.md), or --insecure to run unauthenticated anyway"};
    }
    if (options_.insecure) {
      std::fprintf(stderr, "fulcrum worker %s: WARNING: --insecure: taking commands from an unauthenticated scheduler\n",
                   options_.worker.name.c_str());
    }
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
    if (tls_context_) conn_->use_tls(tls_context_, /*server=*/false);
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
  for (const auto& [task, spec] : waiting_) local_.remove(task);
  waiting_.clear();
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
    const std::uint64_t t = dispatch->task;
    if (waiting_.count(t) || running_.count(t)) {
      log("ignored a second dispatch of task " + std::to_string(t) + " (it is here already)");
      return;
    }
    std::string misfit = first_bad_amount(dispatch->spec.request);
    if (!misfit.empty()) {
      refuse(t, dispatch->spec, "its request of " + misfit + " is not a finite number >= 0");
      return;
    }
    misfit = local_.misfit(dispatch->spec.request);
    if (!misfit.empty()) {
      refuse(t, dispatch->spec, misfit);
      return;
    }
    local_.push(t, dispatch->spec.request);
    waiting_.emplace(t, std::move(*dispatch));
    start_queued();
  } else if (auto* cancel = std::get_if<CancelTask>(&message)) {
    if (cancel->epoch < epoch_) return;
    const std::uint64_t t = cancel->task;
    // Running: killed (or, if its start failed, its failure report is dropped).
    if (executor_.cancel(t) || running_.count(t)) {
      running_.erase(t);
      local_.finished(t);
      if (enforcer_) enforcer_->finish(t, nullptr);
    } else if (local_.remove(t)) {
      waiting_.erase(t);
    } else {
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
  std::vector<TaskId> ready;
  local_.start_ready(ready);
  for (TaskId t : ready) {
    auto node = waiting_.extract(t);
    run(t, node.mapped().spec, std::move(node.mapped().env));
  }
}

void WorkerDaemon::run(std::uint64_t task, const TaskSpec& spec, std::vector<std::string> env) {
  if (conn_) conn_->send(TaskStarted{task});
  running_.insert(task);
  const auto started = std::chrono::steady_clock::now();
  Confinement confine;
  if (spec.kind == TaskKind::kCommand && enforcer_) {
    auto prepared = enforcer_->prepare(task, spec.request);
    if (!prepared) {
      // Not run unconfined: the attempt fails (and is retried), saying why.
      asio::post(io_, [this, task, started, why = prepared.error()] {
        if (!running_.count(task)) return;  // cancelled meanwhile
        on_done(task, TaskOutcome{127, "[could not start: " + why + "]\n", ""}, started);
      });
      return;
    }
    confine = std::move(*prepared);
  }
  confine.env = std::move(env);
  executor_.start(task, spec, [this, started](std::uint64_t t, TaskOutcome outcome) {
    on_done(t, std::move(outcome), started);
  }, confine);
}

void WorkerDaemon::on_done(std::uint64_t task, TaskOutcome outcome, std::chrono::steady_clock::time_point started) {
  running_.erase(task);
  local_.finished(task);
  if (enforcer_ && enforcer_->finish(task, &outcome)) {
    ++out_of_memory_;
    log("task " + std::to_string(task) + " ran out of memory");
  }
  ++(outcome.exit_code == 0 ? completed_ : failed_);
  task_seconds_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  report(task, std::move(outcome));
  start_queued();
}

void WorkerDaemon::report(std::uint64_t task, TaskOutcome outcome) {
  if (conn_ && registered_) {
    conn_->send(TaskDone{task, std::move(outcome)});
  } else {
    unreported_[task] = std::move(outcome);
  }
}

namespace {

double amount_of(const Resources& r, const std::string& dimension) {
  if (dimension == "cores") return r.cores;
  if (dimension == "memory") return r.memory;
  if (dimension == "gpus") return r.gpus;
  const auto it = r.other.find(dimension);
  return it == r.other.end() ? 0 : it->second;
}

std::string amount_text(const std::string& dimension, double amount) {
  if (dimension == "memory") return format_bytes(amount);
  char text[32];
  std::snprintf(text, sizeof text, "%g", amount);
  return text;
}

}  // namespace

// `why`: the dimension that does not fit, or a sentence.
void WorkerDaemon::refuse(std::uint64_t task, const TaskSpec& spec, const std::string& why) {
  ++refused_;
  ++failed_;
  std::string line;
  if (why.find(' ') == std::string::npos) {
    const Resources capacity = options_.worker.capacity();
    line = "[refused by worker " + options_.worker.name + ": the task asks for " + why + " " +
           amount_text(why, amount_of(spec.request, why)) + ", the worker has " +
           amount_text(why, amount_of(capacity, why)) + " in all: it can never run here]\n";
  } else {
    line = "[refused by worker " + options_.worker.name + ": " + why + "]\n";
  }
  log("refused task " + std::to_string(task) + ": " + line.substr(0, line.size() - 1));
  report(task, TaskOutcome{kRefusedExitCode, std::move(line), "unfit"});
}

std::string WorkerDaemon::describe_offer() const {
  const WorkerSpec& w = options_.worker;
  char cores[32];
  std::snprintf(cores, sizeof cores, "%d", w.slots);
  std::string text = std::string("cores=") + cores + " memory=" + format_bytes(w.resources.memory);
  char amount[32];
  std::snprintf(amount, sizeof amount, "%g", w.resources.gpus);
  text += std::string(" gpus=") + amount;
  for (const auto& [name, value] : w.resources.other) {
    std::snprintf(amount, sizeof amount, "%g", value);
    text += " " + name + "=" + amount;
  }
  if (!w.zone.empty()) text += ", zone " + w.zone;
  if (!w.labels.empty()) {
    text += ", labels";
    for (const auto& [key, value] : w.labels) text += " " + key + "=" + value;
  }
  return text;
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
  m.gauge("fulcrum_insecure", "1 when this worker takes commands from a scheduler it does not authenticate",
          !tls_context_ && secret_.empty() ? 1 : 0);
  m.gauge("fulcrum_worker_connected", "1 while registered with a scheduler", conn_ && registered_ ? 1 : 0);
  m.gauge("fulcrum_worker_epoch", "The newest scheduler epoch seen", static_cast<double>(epoch_));
  m.gauge("fulcrum_worker_running_tasks", "Tasks running now", static_cast<double>(executor_.running()));
  m.gauge("fulcrum_worker_queued_tasks", "Tasks dispatched here and not started yet", static_cast<double>(waiting_.size()));
  m.gauge("fulcrum_worker_unreported_tasks", "Results waiting for the scheduler to come back",
          static_cast<double>(unreported_.size()));
  m.counter("fulcrum_worker_tasks_completed_total", "Task runs that ended with exit code 0",
            static_cast<double>(completed_));
  m.counter("fulcrum_worker_tasks_failed_total",
            "Task runs that ended otherwise (non-zero exit, timeout, killed, out of memory, refused)",
            static_cast<double>(failed_));
  m.counter("fulcrum_worker_tasks_refused_total", "Dispatches refused: their request can never fit this worker",
            static_cast<double>(refused_));
  m.counter("fulcrum_worker_tasks_oom_total", "Task runs that ran out of their memory request (reason oom)",
            static_cast<double>(out_of_memory_));
  m.family("fulcrum_worker_enforcement", MetricType::kGauge,
           "1 for the way task requests are enforced here (cgroup_v2, cgroup_v1, rlimit, none), 0 for the others");
  for (EnforcementMode mode : kEnforcementModes) {
    m.sample({{"mode", enforcement_name(mode)}}, enforcer_ && enforcer_->mode() == mode ? 1 : 0);
  }
  const Resources& capacity = local_.capacity();
  const Resources& free = local_.free();
  m.family("fulcrum_worker_capacity", MetricType::kGauge,
           "What this worker offers, by resource (cores, memory in bytes: +Inf when not limited, gpus, others)");
  m.sample({{"resource", "cores"}}, capacity.cores);
  m.sample({{"resource", "memory"}}, capacity.memory);
  m.sample({{"resource", "gpus"}}, capacity.gpus);
  for (const auto& [name, amount] : capacity.other) m.sample({{"resource", name}}, amount);
  m.family("fulcrum_worker_free", MetricType::kGauge, "What its running tasks leave free, by resource");
  m.sample({{"resource", "cores"}}, free.cores);
  m.sample({{"resource", "memory"}}, free.memory);
  m.sample({{"resource", "gpus"}}, free.gpus);
  for (const auto& [name, amount] : capacity.other) {
    const auto it = free.other.find(name);
    m.sample({{"resource", name}}, it == free.other.end() ? amount : it->second);
  }
  m.family("fulcrum_worker_task_seconds", MetricType::kHistogram, "Wall time of each task run here");
  m.histogram(task_seconds_);
  return m.take();
}

}  // namespace fulcrum::real
