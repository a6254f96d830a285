// The scheduler daemon's frame: construction and start (journal, epoch, replay, bind),
// accepting connections, and the event loop around the core.
//
// The loop's contract (real/scheduler_daemon.h): a handler queues an event with enqueue(),
// with its journal record if it must survive a crash; one posted flush() per turn of the
// Asio loop commits every record queued in that turn at once (one fdatasync), and only then
// applies the events in arrival order, sends the core's commands, writes its notices and
// answers waiting clients. Nothing is applied, sent or acknowledged before its commit.
#include "real/scheduler_daemon.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "policies/registry.h"

namespace fulcrum::real {

namespace {

// The epoch file holds the last epoch used; each start takes the next one, durably, so a
// restarted leader always outranks what it replaced.
Expected<std::uint64_t> bump_epoch(const std::string& dir) {
  const std::string path = dir + "/epoch";
  std::uint64_t epoch = 0;
  if (std::ifstream in(path); in) in >> epoch;
  ++epoch;
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return Error{tmp + ": cannot write the epoch file"};
  const std::string text = std::to_string(epoch) + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) return Error{path + ": cannot write the epoch file"};
  return epoch;
}

}  // namespace

SchedulerDaemon::SchedulerDaemon(asio::io_context& io, SchedulerOptions options)
    : io_(io), options_(std::move(options)), acceptor_(io), wakeup_(io) {}

SchedulerDaemon::~SchedulerDaemon() {
  // The ZooKeeper client's threads end here: nothing is posted for this daemon after it.
  journal_.reset();
  follower_.reset();
  zk_.reset();
  if (events_) std::fclose(events_);
}

Expected<bool> SchedulerDaemon::start() {
  if (options_.journal_dir.empty() && options_.zk_hosts.empty()) return Error{"--journal: a journal folder is required"};
  if (!options_.secret_file.empty()) {
    auto secret = read_secret_file(options_.secret_file);
    if (!secret) return Error{secret.error()};
    secret_ = std::move(*secret);
  }
  if (auto security = load_security(); !security) return security;
  auto policy = make_policy(options_.policy);
  if (!policy) return Error{"--policy: " + policy.error()};
  for (const std::string& name : options_.scale_out_names) {
    // They are pasted into a shell command.
    if (name.empty() || name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
                            std::string::npos) {
      return Error{"--scale-out-names: '" + name + "' is not a worker name (letters, digits, '.', '_', '-')"};
    }
  }
  if (options_.core.autoscale.enabled && options_.scale_out_command.empty()) {
    return Error{"--autoscale needs --scale-out-command"};
  }
  if (!options_.zk_hosts.empty()) return start_replica();
  auto journal = Journal::open(options_.journal_dir);
  if (!journal) return Error{journal.error()};
  journal_ = std::move(*journal);
  auto epoch = bump_epoch(options_.journal_dir);
  if (!epoch) return Error{epoch.error()};
  epoch_ = *epoch;
  return serve();
}

Expected<bool> SchedulerDaemon::serve() {
  auto policy = make_policy(options_.policy);
  if (!policy) return Error{"--policy: " + policy.error()};
  SchedulerConfig config = options_.core;
  config.epoch = epoch_;
  children_ = std::make_unique<ChildProcesses>(io_);
  boot_timer_ = std::make_unique<asio::steady_timer>(io_);
  core_ = std::make_unique<Scheduler>(config, std::move(*policy));
  if (!options_.journal_dir.empty()) {
    std::error_code mkdir_ec;
    std::filesystem::create_directories(options_.journal_dir, mkdir_ec);
    const std::string events_path = options_.journal_dir + "/events.csv";
    const bool fresh = !std::filesystem::exists(events_path);
    events_ = std::fopen(events_path.c_str(), "a");
    if (!events_) return Error{events_path + ": cannot open for appending"};
    if (fresh) std::fputs("time,kind,host,detail,alert\n", events_);
    auto audit = AuditLog::open(options_.journal_dir);
    if (!audit) return Error{audit.error()};
    audit_ = std::move(*audit);
  }
  if (auto r = replay(); !r) return r;
  if (!acceptor_.is_open()) {
    if (auto b = bind(); !b) return b;
  }
  {
    auto endpoint = parse_endpoint(options_.listen);
    metrics_server_ = std::make_unique<MetricsServer>(io_, [this] { return render_metrics(); });
    if (auto m = start_metrics(*metrics_server_, options_.metrics, endpoint->host, "scheduler"); !m) return m;
  }
  accept();
  arm_wakeup();
  arm_reload_check();
  return true;
}

Expected<bool> SchedulerDaemon::bind() {
  auto endpoint = parse_endpoint(options_.listen);
  if (!endpoint) return Error{"--listen: " + endpoint.error()};
  asio::error_code ec;
  const auto address = asio::ip::make_address(endpoint->host, ec);
  if (ec) return Error{"--listen: '" + endpoint->host + "' is not an IP address"};
  const asio::ip::tcp::endpoint ep(address, endpoint->port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{"--listen " + options_.listen + ": " + ec.message()};
  port_ = acceptor_.local_endpoint().port();
  return true;
}

std::string SchedulerDaemon::advertised_address() const {
  auto endpoint = parse_endpoint(options_.listen);
  const std::string host = !endpoint || endpoint->host == "0.0.0.0" ? "127.0.0.1" : endpoint->host;
  return host + ":" + std::to_string(port_);
}

Expected<bool> SchedulerDaemon::replay() {
  auto stats = journal_->replay([this](const JournalRecord& record) {
    if (const auto* accepted = std::get_if<JobAccepted>(&record)) {
      if (job_tenants_.size() <= accepted->job) job_tenants_.resize(accepted->job + 1);
      job_tenants_[accepted->job] = accepted->spec.tenant;
    }
    replay_record(*core_, record, durable_);
  });
  if (!stats) return Error{stats.error()};
  next_job_ = core_->table().jobs.size();
  next_task_ = core_->table().tasks.size();
  if (stats->truncated_bytes > 0) {
    log("journal: cut a torn tail of " + std::to_string(stats->truncated_bytes) + " bytes");
  }
  if (stats->records > 0 || zk_) {
    log("journal: replayed " + std::to_string(stats->records) + " records, " +
        std::to_string(core_->tasks_unfinished()) + " tasks unfinished; epoch " + std::to_string(epoch_));
    core_->begin_recovery(now(), options_.reconcile_grace);
    write_event(now(), "leader_elected", "", "epoch " + std::to_string(epoch_) + ", replayed " +
                                                 std::to_string(stats->records) + " records", false);
  }
  std::vector<Notice> replayed;
  core_->take_notices(replayed);  // what replay re-derives was written down the first time
  seed_metrics();
  core_->take_commands(commands_);  // replay emits nothing to send: nobody is connected yet
  return true;
}

void SchedulerDaemon::stop() {
  if (stopping_) return;
  stopping_ = true;
  asio::error_code ec;
  acceptor_.close(ec);
  wakeup_.cancel();
  if (metrics_server_) metrics_server_->stop();
  if (children_) children_->stop();  // the workers it started keep running (they reconnect)
  if (boot_timer_) boot_timer_->cancel();
  if (lease_timer_) lease_timer_->cancel();
  if (retry_timer_) retry_timer_->cancel();
  if (reload_timer_) reload_timer_->cancel();
  for (auto& peer : std::vector<std::shared_ptr<Peer>>(peers_)) peer->conn->close("scheduler stopping");
  peers_.clear();
}

void SchedulerDaemon::accept() {
  if (accepting_) return;
  accepting_ = true;
  accept_next();
}

void SchedulerDaemon::accept_next() {
  acceptor_.async_accept([this](asio::error_code ec, asio::ip::tcp::socket socket) {
    if (stopping_) return;
    if (!ec && zk_ && !leading_) {
      log("standby: closed a connection from a peer that took this replica for the leader");
      asio::error_code ignored;
      socket.close(ignored);
    } else if (!ec) {
      auto peer = std::make_shared<Peer>();
      peer->conn = std::make_shared<Connection>(std::move(socket), options_.max_frame);
      if (tls_context_) peer->conn->use_tls(tls_context_, /*server=*/true);
      if (!secret_.empty()) peer->conn->require_auth(secret_, /*server=*/true);
      peers_.push_back(peer);
      std::weak_ptr<Peer> weak = peer;
      peer->conn->start([this, weak](Message&& m) { if (auto p = weak.lock()) on_message(p, std::move(m)); },
                        [this, weak](const std::string& reason) { if (auto p = weak.lock()) on_closed(p, reason); });
    }
    accept_next();
  });
}

// ---- The event loop: group commit, then apply, then send ----

void SchedulerDaemon::enqueue(std::function<void()> apply, const JournalRecord* record) {
  if (record) journal_->append(*record);
  batch_.push_back(std::move(apply));
  if (!flush_posted_) {
    flush_posted_ = true;
    // Posted, so that every event already read in this turn of the loop joins the batch.
    asio::post(io_, [this] { flush(); });
  }
}

void SchedulerDaemon::flush() {
  flush_posted_ = false;
  if (stopping_) return;
  if (auto committed = journal_->commit(); !committed) {
    // Nothing in this batch counts as accepted; a scheduler that cannot journal must not
    // go on acknowledging work, so it stops and a restart replays what is durable.
    std::fprintf(stderr, "fulcrum scheduler: journal commit failed, stopping: %s\n", committed.error().c_str());
    batch_.clear();
    if (zk_) {
      fence("journal commit failed: " + committed.error());
      return;
    }
    fatal_ = "journal commit failed: " + committed.error();
    stop();
    return;
  }
  if (audit_) {
    // The trail's entries for this batch are durable before any reply to them leaves; a
    // failing trail is reported, and the scheduler goes on (its journal is what matters
    // to the jobs).
    if (auto a = audit_->commit(); !a) std::fprintf(stderr, "fulcrum scheduler: audit trail: %s\n", a.error().c_str());
  }
  if (zk_journal_ && !zk_journal_->snapshot_error().empty()) {
    log("journal snapshot failed (tried again at the next commit): " + zk_journal_->snapshot_error());
  }
  std::vector<std::function<void()>> batch;
  batch.swap(batch_);
  for (auto& apply : batch) apply();
  send_commands();
  record_notices();
  answer_waiters();
  arm_wakeup();
}

// A gang member learns the others as an MPI launcher would tell it: its rank in the job,
// the job's size, and every member's worker name in rank order (the core places a gang's
// members all at once, so each has its worker when the first dispatch leaves).
std::vector<std::string> SchedulerDaemon::gang_env(TaskId task) const {
  const TaskTable& table = core_->table();
  const Job& job = table.jobs[table.tasks[task].job];
  if (!job.gang) return {};
  std::string hosts;
  for (TaskId m = job.first_task; m < job.first_task + job.task_count; ++m) {
    const WorkerId w = table.tasks[m].worker;
    hosts += (hosts.empty() ? "" : ",") + (w < core_->cluster().size() ? core_->cluster().worker(w).spec.name : "?");
  }
  return {"FULCRUM_RANK=" + std::to_string(task - job.first_task), "FULCRUM_SIZE=" + std::to_string(job.task_count),
          "FULCRUM_HOSTS=" + hosts};
}

void SchedulerDaemon::send_commands() {
  core_->take_commands(commands_);
  if (zk_ && !commands_.empty() && !lease_ok()) {
    // Our session may be gone and a newer leader serving: not one more command.
    fence("ZooKeeper session not confirmed within 2/3 of its timeout; " + std::to_string(commands_.size()) +
          " commands not sent");
    return;
  }
  for (const Command& c : commands_) {
    if (c.kind == Command::Kind::kScaleOut) {
      scale_out(c.count);
      continue;
    }
    if (c.kind == Command::Kind::kScaleIn) continue;  // the core drains it: nothing to send
    if (c.kind == Command::Kind::kRetire) {
      retire(c.worker);
      continue;
    }
    if (c.worker >= workers_.size() || !workers_[c.worker]) continue;
    Connection& conn = *workers_[c.worker]->conn;
    if (c.kind == Command::Kind::kDispatch) {
      conn.send(Dispatch{c.epoch, c.task, durable_.specs[c.task], gang_env(c.task)});
      ++stats_.dispatched;
      if (zk_ && !first_dispatch_) {
        first_dispatch_ = true;
        write_event(now(), "first_dispatch", "", "epoch " + std::to_string(epoch_), false);
      }
    } else {
      conn.send(CancelTask{c.epoch, c.task});
    }
  }
}

void SchedulerDaemon::answer_waiters() {
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (is_terminal(core_->table().tasks[it->first].state)) {
      it->second->conn->send(status_of(it->first));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
}

void SchedulerDaemon::arm_wakeup() {
  const Time when = core_->next_wakeup();
  if (when == kNever || stopping_) return;
  const auto delay = std::chrono::duration<double>(std::max(0.0, when - now()));
  wakeup_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay));
  wakeup_.async_wait([this](asio::error_code ec) {
    if (ec || stopping_) return;
    enqueue([this] { core_->on_tick(now()); });
  });
}

double SchedulerDaemon::now() {
  // Wall-clock seconds, so that records stay comparable across restarts; never backwards,
  // because the core requires non-decreasing time.
  const double t = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  last_now_ = std::max(last_now_, t);
  return last_now_;
}

void SchedulerDaemon::log(const std::string& line) const {
  if (options_.verbose) std::fprintf(stderr, "fulcrum scheduler: %s\n", line.c_str());
}

void SchedulerDaemon::record_notices() {
  std::vector<Notice> notices;
  core_->take_notices(notices);
  for (const Notice& n : notices) {
    const std::string host = n.worker < core_->cluster().size() ? core_->cluster().worker(n.worker).spec.name : "";
    if (n.kind == Notice::Kind::kTaskFailed && !failure_journaled_.erase(n.task)) {
      // Failed for good by the core itself (a timeout): journaled after the fact, so a
      // crash before the commit re-runs the task rather than forgetting the failure.
      const Task& task = core_->table().tasks[n.task];
      const JournalRecord record = TaskFailed{n.task, n.time, task.attempts, durable_.outcomes[n.task], task.start};
      enqueue([] {}, &record);
    }
    const std::string detail = notice_detail(n, options_.core.autoscale.metric);
    write_event(n.time, std::string(to_string(n.kind)), host, detail, n.alert);
    const auto kind = static_cast<std::size_t>(n.kind);
    if (kind < std::size(stats_.notices)) {
      ++stats_.notices[kind];
      if (n.alert) ++stats_.alerts[kind];
      if (n.kind == Notice::Kind::kTaskFailed) ++stats_.failed;
    }
  }
}

void SchedulerDaemon::write_event(double time, const std::string& kind, const std::string& host,
                                  const std::string& detail, bool alert) {
  if (!events_) return;  // a ZooKeeper replica without --journal keeps no events.csv
  std::fprintf(events_, "%.17g,%s,%s,\"%s\",%d\n", time, kind.c_str(), host.c_str(), detail.c_str(), alert ? 1 : 0);
  std::fflush(events_);
}

}  // namespace fulcrum::real
