#include "real/scheduler_daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cassert>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <cmath>

#include <zookeeper/zookeeper.h>

#include <algorithm>

#include "results/metrics.h"
#include "policies/registry.h"

namespace fulcrum::real {

struct SchedulerDaemon::Peer {
  std::shared_ptr<Connection> conn;
  enum class Role { kUnknown, kWorker, kClient } role = Role::kUnknown;
  WorkerId worker = kNoWorker;
  std::string name;
};

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

std::vector<std::string> scheduler_flags(const SchedulerConfig& c) {
  auto number = [](double x) {
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", x);
    return std::string(text);
  };
  const char* priority = c.priority == SchedulerConfig::Priority::kCriticalPath ? "critical_path"
                         : c.priority == SchedulerConfig::Priority::kRandom     ? "random"
                                                                                : "fifo";
  std::vector<std::string> flags{"--seed", std::to_string(c.seed), "--queue-cap", std::to_string(c.queue_cap),
                                 "--max-attempts", std::to_string(c.max_attempts),
                                 "--suspect-after", number(c.suspect_after), "--dead-after", number(c.dead_after),
                                 "--detector-period", number(c.detector_period),
                                 "--retry-backoff", number(c.retry_backoff), "--task-timeout", number(c.task_timeout),
                                 "--quarantine-after", std::to_string(c.quarantine_after),
                                 "--quarantine-window", number(c.quarantine_window),
                                 "--quarantine-for", number(c.quarantine_for),
                                 "--backlog-alert", std::to_string(c.backlog_alert), "--priority", priority,
                                 "--network-latency", number(c.network_latency),
                                 "--network-bandwidth", number(c.network_bandwidth)};
  const AutoscaleConfig& a = c.autoscale;
  if (a.enabled) {
    for (std::string f : {std::string("--autoscale"), std::string("--autoscale-metric"), std::string(to_string(a.metric)),
                          std::string("--autoscale-target"), number(a.target),
                          std::string("--autoscale-min"), std::to_string(a.min_workers),
                          std::string("--autoscale-max"), std::to_string(a.max_workers),
                          std::string("--autoscale-period"), number(a.period),
                          std::string("--autoscale-window"), number(a.window),
                          std::string("--autoscale-cooldown-out"), number(a.scale_out_cooldown),
                          std::string("--autoscale-cooldown-in"), number(a.scale_in_cooldown),
                          std::string("--autoscale-tolerance"), number(a.tolerance),
                          std::string("--autoscale-scale-in-after"), std::to_string(a.scale_in_after)}) {
      flags.push_back(std::move(f));
    }
  }
  return flags;
}

void SchedulerDaemon::write_event(double time, const std::string& kind, const std::string& host,
                                  const std::string& detail, bool alert) {
  if (!events_) return;  // a ZooKeeper replica without --journal keeps no events.csv
  std::fprintf(events_, "%.17g,%s,%s,\"%s\",%d\n", time, kind.c_str(), host.c_str(), detail.c_str(), alert ? 1 : 0);
  std::fflush(events_);
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

Expected<bool> SchedulerDaemon::start() {
  if (options_.journal_dir.empty() && options_.zk_hosts.empty()) return Error{"--journal: a journal folder is required"};
  if (!options_.secret_file.empty()) {
    auto secret = read_secret_file(options_.secret_file);
    if (!secret) return Error{secret.error()};
    secret_ = std::move(*secret);
  }
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

Expected<bool> SchedulerDaemon::replay() {
  auto stats = journal_->replay([this](const JournalRecord& record) { replay_record(*core_, record, durable_); });
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
      if (!secret_.empty()) peer->conn->require_auth(secret_, /*server=*/true);
      peers_.push_back(peer);
      std::weak_ptr<Peer> weak = peer;
      peer->conn->start([this, weak](Message&& m) { if (auto p = weak.lock()) on_message(p, std::move(m)); },
                        [this, weak](const std::string& reason) { if (auto p = weak.lock()) on_closed(p, reason); });
    }
    accept_next();
  });
}

void SchedulerDaemon::on_closed(const std::shared_ptr<Peer>& peer, const std::string& reason) {
  if (reason.rfind("authentication failed", 0) == 0) {
    // Refused peers are logged whatever --verbose says.
    std::fprintf(stderr, "fulcrum scheduler: refused %s: %s\n", peer->conn->peer().c_str(), reason.c_str());
  } else if (!reason.empty()) {
    log("closed " + peer->conn->peer() + " (" + peer->name + "): " + reason);
  }
  std::erase(peers_, peer);
  for (auto it = waiters_.begin(); it != waiters_.end();) it = it->second == peer ? waiters_.erase(it) : std::next(it);
  // A worker that closed before its Register was applied never joined (kNoWorker).
  if (peer->role == Peer::Role::kWorker && peer->worker != kNoWorker && !stopping_) {
    const WorkerId w = peer->worker;
    enqueue([this, w] { core_->on_worker_left(now(), w); });
  }
}

void SchedulerDaemon::on_message(const std::shared_ptr<Peer>& peer, Message&& message) {
  using Role = Peer::Role;
  const bool is_worker_message = std::holds_alternative<Register>(message) ||
                                 std::holds_alternative<Heartbeat>(message) ||
                                 std::holds_alternative<TaskStarted>(message) || std::holds_alternative<TaskDone>(message);
  // An authenticated peer is what it proved to be: a client cannot register as a worker.
  if (const auto proven = peer->conn->peer_role();
      proven && peer->role == Role::kUnknown && (*proven == AuthRole::kWorker) != std::holds_alternative<Register>(message)) {
    peer->conn->close("protocol error: authenticated as a " + std::string(role_name(*proven)) + ", sent " +
                      std::string(message_name(message)));
    return;
  }
  if (peer->role == Role::kUnknown) {
    peer->role = std::holds_alternative<Register>(message) ? Role::kWorker : Role::kClient;
  }
  if (is_worker_message != (peer->role == Role::kWorker) ||
      (std::holds_alternative<Register>(message) && peer->worker != kNoWorker)) {
    peer->conn->close(std::string("protocol error: unexpected ") + std::string(message_name(message)));
    return;
  }

  if (auto* reg = std::get_if<Register>(&message)) {
    const WorkerSpec& spec = reg->worker;
    if (spec.slots <= 0 || !(spec.speed > 0) || !(spec.weight >= 0) || !std::isfinite(spec.weight)) {
      peer->conn->send(ErrorReply{"Register: slots and speed must be positive and weight at least 0"});
      peer->conn->close("bad Register");
      return;
    }
    peer->name = spec.name;
    std::vector<TaskId> claimed(reg->running.begin(), reg->running.end());
    enqueue([this, peer, spec, claimed] {
      if (!peer->conn->open()) return;
      // A worker a scale-out started joins booted (it no longer counts as booting).
      const bool booted = booting_.erase(spec.name) > 0;
      peer->worker = core_->on_worker_joined(now(), spec, claimed, booted);
      if (workers_.size() <= peer->worker) workers_.resize(peer->worker + 1);
      workers_[peer->worker] = peer;
      peer->conn->send(Welcome{peer->worker, epoch_});
      log("worker " + spec.name + " joined as " + std::to_string(peer->worker) + " claiming " +
          std::to_string(claimed.size()) + " tasks");
    });
  } else if (std::holds_alternative<Heartbeat>(message)) {
    enqueue([this, peer] {
      if (peer->worker == kNoWorker) return;
      if (!core_->cluster().worker(peer->worker).alive) {
        // Declared dead while its connection stayed open (it was paused, or silent): it
        // must register anew and claim what it still runs.
        peer->conn->close("declared dead; register again");
        return;
      }
      core_->on_heartbeat(now(), peer->worker);
    });
  } else if (auto* started = std::get_if<TaskStarted>(&message)) {
    const TaskId t = started->task;
    // Remembered now, not when applied: a TaskDone in the same batch needs it.
    if (t < next_task_) {
      if (started_at_.size() <= t) started_at_.resize(next_task_, -1);
      started_at_[t] = now();
    }
    enqueue([this, peer, t] { core_->on_task_started(now(), t, peer->worker); });
  } else if (auto* done = std::get_if<TaskDone>(&message)) {
    const TaskId t = done->task;
    TaskOutcome outcome = std::move(done->outcome);
    if (outcome.output.size() > kMaxOutputBytes) outcome.output.erase(0, outcome.output.size() - kMaxOutputBytes);
    const auto& table = core_->table();
    // Journal only a report the core will accept as final; stale ones are dropped here.
    if (peer->worker == kNoWorker || !core_->holds(t, peer->worker)) return;
    const double end = now();
    if (outcome.exit_code == 0) {
      const double start = t < started_at_.size() && started_at_[t] >= 0 ? started_at_[t] : table.tasks[t].dispatched;
      const JournalRecord record = TaskFinished{t, start, end, peer->name, table.tasks[t].attempts, outcome};
      enqueue([this, peer, t, start, outcome = std::move(outcome)] {
        durable_.outcomes[t] = outcome;
        const bool was_finished = core_->table().tasks[t].state == TaskState::kFinished;
        core_->on_task_finished(now(), t, peer->worker, start);
        count_finished(t, was_finished);
      }, &record);
    } else if (core_->failure_is_final(t)) {
      const JournalRecord record = TaskFailed{t, end, table.tasks[t].attempts, outcome, table.tasks[t].start};
      failure_journaled_.insert(t);
      enqueue([this, peer, t, outcome = std::move(outcome)] {
        durable_.outcomes[t] = outcome;
        core_->on_task_failed(now(), t, peer->worker);
      }, &record);
    } else {
      enqueue([this, peer, t, outcome = std::move(outcome)] {
        durable_.outcomes[t] = outcome;
        core_->on_task_failed(now(), t, peer->worker);
      });
    }
  } else if (auto* submit = std::get_if<Submit>(&message)) {
    if (auto ok = check_job_spec(submit->job); !ok) {
      peer->conn->send(ErrorReply{"Submit: " + ok.error()});
      return;
    }
    if (submit->request_id.size() > kMaxRequestId) {
      peer->conn->send(ErrorReply{"Submit: request id longer than " + std::to_string(kMaxRequestId) + " bytes"});
      return;
    }
    if (!submit->request_id.empty()) {
      if (auto known = durable_.submissions.find(submit->request_id); known != durable_.submissions.end()) {
        // A retry of a submission journaled before (perhaps by an earlier leader): the
        // same ids, once that record is committed (it may be in the batch being formed,
        // so the comparison with what was accepted waits for it to be applied too).
        const DurableState::Accepted a = known->second;
        enqueue([this, peer, a, id = submit->request_id, tasks = std::move(submit->job.tasks)] {
          const auto first = durable_.specs.begin() + static_cast<std::ptrdiff_t>(a.first_task);
          if (!std::equal(tasks.begin(), tasks.end(), first, first + a.count)) {
            peer->conn->send(ErrorReply{"Submit: request id '" + id + "' was already used for a different job"});
            return;
          }
          peer->conn->send(Submitted{a.job, a.first_task, a.count});
        });
        return;
      }
    }
    const std::uint64_t job = next_job_;
    const std::uint64_t first = next_task_;
    const JournalRecord record = JobAccepted{job, now(), submit->job, submit->request_id};
    // A record the journal cannot hold would fail the commit of its whole batch and stop
    // this scheduler (and, retried by the client, every leader after it): refuse the job.
    // Only a journal whose limit is below the wire's frame limit (ZooKeeper's) can see one.
    if (journal_->max_record_bytes() < kDefaultMaxFrame) {
      std::string encoded;
      if (const std::size_t length = encode_record(record, encoded); length > journal_->max_record_bytes()) {
        peer->conn->send(ErrorReply{"Submit: the job's journal record would be " + std::to_string(length) +
                                    " bytes, above the journal's limit of " +
                                    std::to_string(journal_->max_record_bytes()) + ": submit it as smaller jobs"});
        return;
      }
    }
    ++next_job_;
    const auto count = static_cast<std::uint32_t>(submit->job.tasks.size());
    next_task_ += count;
    if (!submit->request_id.empty()) durable_.submissions[submit->request_id] = {job, first, count};
    enqueue([this, peer, job, first, count, spec = std::move(submit->job)] {
      [[maybe_unused]] const JobId id = core_->on_job_submitted(now(), spec);
      assert(id == job && "job ids are assigned in journal order");
      // The plan is known only now: journaled after the job, so a crash before its commit
      // leaves a new leader to plan the job afresh.
      if (auto plan = plan_record(*core_, job, spec)) {
        const JournalRecord planned = std::move(*plan);
        enqueue([] {}, &planned);
      }
      durable_.specs.insert(durable_.specs.end(), spec.tasks.begin(), spec.tasks.end());
      durable_.outcomes.resize(durable_.specs.size());
      durable_.finished_on.resize(durable_.specs.size());
      peer->conn->send(Submitted{job, first, count});
    }, &record);
  } else if (auto* status = std::get_if<StatusRequest>(&message)) {
    const std::uint64_t t = status->task;
    const bool wait = status->wait;
    enqueue([this, peer, t, wait] {
      if (t >= core_->table().tasks.size()) {
        peer->conn->send(ErrorReply{"no task " + std::to_string(t)});
      } else if (wait && !is_terminal(core_->table().tasks[t].state)) {
        waiters_.emplace(t, peer);
      } else {
        peer->conn->send(status_of(t));
      }
    });
  } else if (auto* cancel = std::get_if<CancelRequest>(&message)) {
    const std::uint64_t t = cancel->task;
    if (t >= next_task_) {
      peer->conn->send(ErrorReply{"no task " + std::to_string(t)});
      return;
    }
    // The task may still be in this batch; its job id is known once applied, so the
    // journal record is written by the apply step's own small commit.
    enqueue([this, peer, t] {
      const JobId job = core_->table().tasks[t].job;
      journal_->append(cancel_record(*core_, job, now()));
      if (auto c = journal_->commit(); !c) {
        peer->conn->send(ErrorReply{"journal: " + c.error()});
        return;
      }
      core_->on_job_cancelled(now(), job);
      peer->conn->send(Ack{});
    });
  } else if (std::holds_alternative<RecordsRequest>(message)) {
    enqueue([this, peer] {
      RecordsReply reply;
      RunRecords records = collect_records(core_->table(), core_->cluster(), core_->tasks_retried());
      // A completion restored from the journal names its worker; credit the worker of that
      // name that is connected now, if any.
      for (TaskRecord& t : records.tasks) {
        if (t.worker != kNoWorker || t.id >= durable_.finished_on.size() || durable_.finished_on[t.id].empty()) continue;
        for (WorkerId w = core_->cluster().size(); w-- > 0;) {
          if (core_->cluster().worker(w).spec.name == durable_.finished_on[t.id]) {
            t.worker = w;
            break;
          }
        }
      }
      reply.tasks = std::move(records.tasks);
      reply.workers = std::move(records.workers);
      reply.tasks_retried = core_->tasks_retried();
      reply.wasted_work = core_->wasted_work();
      peer->conn->send(reply);
    });
  } else if (std::holds_alternative<ShutdownRequest>(message)) {
    enqueue([this, peer] {
      peer->conn->send(Ack{});
      log("shutdown requested");
      // Let the Ack go out before the connections close.
      asio::post(io_, [this] { stop(); });
    });
  } else {
    peer->conn->close(std::string("protocol error: unexpected ") + std::string(message_name(message)));
  }
}

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
      conn.send(Dispatch{c.epoch, c.task, durable_.specs[c.task]});
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

std::string SchedulerDaemon::free_name() {
  if (options_.scale_out_names.empty()) return "scaled-" + std::to_string(epoch_) + "-" + std::to_string(++scaled_);
  for (const std::string& name : options_.scale_out_names) {
    bool taken = booting_.count(name) > 0;
    for (const auto& peer : workers_) {
      taken = taken || (peer && peer->name == name && peer->conn->open() && core_->cluster().worker(peer->worker).alive);
    }
    if (!taken) return name;
  }
  return "";
}

std::string SchedulerDaemon::advertised_address() const {
  auto endpoint = parse_endpoint(options_.listen);
  const std::string host = !endpoint || endpoint->host == "0.0.0.0" ? "127.0.0.1" : endpoint->host;
  return host + ":" + std::to_string(port_);
}

void SchedulerDaemon::scale_out(std::uint32_t n) {
  const std::string address = advertised_address();
  for (std::uint32_t i = 0; i < n; ++i) {
    const double t = now();
    const std::string name = free_name();
    if (name.empty()) {
      write_event(t, "scale_out_failed", "", "no free name in --scale-out-names", true);
      enqueue([this] { core_->on_scale_out_failed(now(), 1); });
      continue;
    }
    const std::vector<std::pair<std::string, std::string>> values{{"address", address}, {"name", name}};
    const std::uint64_t serial = ++boots_;
    auto on_exit = [this, name, serial](int status) {
      if (stopping_) return;
      auto it = booting_.find(name);
      if (it != booting_.end() && it->second.serial == serial) {
        it->second.pid = -1;  // reaped: never signalled again
        // Exit 0 before the worker joined: a launcher that started it in the background.
        if (status != 0) boot_failed(name, "the scale-out command exited with status " + std::to_string(status));
      } else if (status != 0) {
        log("worker " + name + ": its scale-out command ended with status " + std::to_string(status));
      }
    };
    auto pid = children_->run(expand_placeholders(options_.scale_out_command, values),
                              {{"FULCRUM_SCHEDULER", address}, {"FULCRUM_WORKER_NAME", name}}, on_exit);
    if (!pid) {
      write_event(t, "scale_out_failed", name, pid.error(), true);
      enqueue([this] { core_->on_scale_out_failed(now(), 1); });
      continue;
    }
    booting_[name] = Boot{t + options_.boot_timeout, *pid, serial};
    write_event(t, "boot", name, "scale-out command started, pid " + std::to_string(*pid), false);
    log("scale-out: started " + name + " (pid " + std::to_string(*pid) + ")");
  }
  arm_boot_timer();
}

void SchedulerDaemon::boot_failed(const std::string& name, const std::string& why) {
  auto it = booting_.find(name);
  if (it == booting_.end()) return;
  // A command still running (its worker hangs) is stopped: the core no longer waits for it.
  if (it->second.pid > 0) ::kill(it->second.pid, SIGTERM);
  booting_.erase(it);
  write_event(now(), "scale_out_failed", name, why, true);
  log("scale-out of " + name + " failed: " + why);
  enqueue([this] { core_->on_scale_out_failed(now(), 1); });
}

void SchedulerDaemon::arm_boot_timer() {
  if (booting_.empty() || stopping_) return;
  double first = INFINITY;
  for (const auto& [name, boot] : booting_) first = std::min(first, boot.deadline);
  const auto delay = std::chrono::duration<double>(std::max(0.0, first - now()) + 0.001);
  boot_timer_->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay));
  boot_timer_->async_wait([this](asio::error_code ec) {
    if (ec || stopping_) return;
    const double t = now();
    std::vector<std::string> late;
    for (const auto& [name, boot] : booting_) {
      if (boot.deadline <= t) late.push_back(name);
    }
    for (const std::string& name : late) {
      boot_failed(name, "did not register within " + std::to_string(options_.boot_timeout) + " s");
    }
    arm_boot_timer();
  });
}

void SchedulerDaemon::retire(WorkerId w) {
  const std::string name = core_->cluster().worker(w).spec.name;
  if (w < workers_.size() && workers_[w] && workers_[w]->conn->open()) workers_[w]->conn->send(Retire{epoch_});
  log("retired worker " + name);
  if (options_.scale_in_command.empty()) return;
  const std::string address = advertised_address();
  const std::vector<std::pair<std::string, std::string>> values{{"address", address}, {"name", name}};
  auto pid = children_->run(expand_placeholders(options_.scale_in_command, values),
                            {{"FULCRUM_SCHEDULER", address}, {"FULCRUM_WORKER_NAME", name}}, [this, name](int status) {
                              if (status != 0 && !stopping_) {
                                write_event(now(), "scale_in_failed", name,
                                            "the scale-in command exited with status " + std::to_string(status), true);
                              }
                            });
  if (!pid) write_event(now(), "scale_in_failed", name, pid.error(), true);
}

TaskStatus SchedulerDaemon::status_of(std::uint64_t t) const {
  const Task& task = core_->table().tasks[t];
  TaskStatus s;
  s.task = t;
  s.job = task.job;
  s.state = std::string(to_string(task.state));
  s.worker = task.worker == kNoWorker ? "" : core_->cluster().worker(task.worker).spec.name;
  s.attempts = task.attempts;
  s.submit = task.submit;
  s.start = task.start;
  s.end = task.end;
  s.outcome = durable_.outcomes[t];
  return s;
}

}  // namespace fulcrum::real

// ---- High availability with ZooKeeper (docs/real/ha-zookeeper.md) ----

namespace fulcrum::real {
namespace {

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Expected<bool> SchedulerDaemon::start_replica() {
  if (auto ok = check_zk_root(options_.zk_root); !ok) return ok;
  if (!(options_.zk_session_timeout > 0)) return Error{"--zk-session-timeout: must be positive"};
  // Bound now, so that the election node names where this replica will listen; it serves
  // only once it leads (ROOT/leader is what workers and clients read) and turns peers
  // away until then.
  if (auto b = bind(); !b) return b;
  accept();
  start_may_succeed_later_ = true;  // from here on, only ZooKeeper can fail us
  auto lost = session_lost_;
  auto zk = ZkClient::connect(options_.zk_hosts, options_.zk_session_timeout, 10, [this, lost](const ZkEvent& e) {
    // On the client's thread: the flag stops dispatching even before the loop sees it.
    if (e.session_lost()) lost->store(true);
    asio::post(io_, [this, e] { on_zk_event(e); });
  });
  if (!zk) return Error{zk.error()};
  zk_ = std::move(*zk);
  const std::string& root = options_.zk_root;
  if (auto ok = zk_prepare_root(*zk_, root); !ok) return ok;
  follower_ = std::make_unique<ZkJournal>(*zk_, root, options_.zk_snapshot_every);
  if (auto n = follower_->catch_up(true); !n) return Error{n.error()};
  // A create whose answer is lost fails start(); the node it may have made goes with this
  // session when the daemon is destroyed, before a fresh one tries again.
  auto node = zk_->create(root + "/election/n-", advertised_address(), ZOO_EPHEMERAL_SEQUENTIAL);
  if (!node) return Error{node.error()};
  election_node_ = node->substr(node->rfind('/') + 1);
  log("replica " + election_node_ + " at " + advertised_address() + ", ZooKeeper session timeout " +
      std::to_string(zk_->negotiated_timeout()) + " s; followed " + std::to_string(follower_->followed_records()) +
      " records");
  start_may_succeed_later_ = false;
  lease_timer_ = std::make_unique<asio::steady_timer>(io_);
  retry_timer_ = std::make_unique<asio::steady_timer>(io_);
  arm_lease_timer();
  check_election();
  return true;
}

bool SchedulerDaemon::lease_ok() const { return !session_lost_->load() && steady_ns() < lease_until_->load(); }

void SchedulerDaemon::arm_lease_timer() {
  if (stopping_ || !zk_) return;
  if (leading_ && !lease_ok()) {
    fence(session_lost_->load() ? "ZooKeeper session expired"
                                : "ZooKeeper session not confirmed within 2/3 of its timeout");
    return;
  }
  // A request answered proves the session alive until at least its send + the timeout
  // (the server heard us after that); we claim 2/3 of it, renewed 5 times a timeout.
  const double timeout = zk_->negotiated_timeout();
  const std::int64_t sent = steady_ns();
  auto lease = lease_until_;
  const auto until = sent + static_cast<std::int64_t>(timeout * 2.0 / 3.0 * 1e9);
  zk_->ping(options_.zk_root + "/epoch", [lease, until](bool ok) {
    if (!ok) return;
    std::int64_t cur = lease->load();
    while (cur < until && !lease->compare_exchange_weak(cur, until)) {
    }
  });
  lease_timer_->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(timeout / 5)));
  lease_timer_->async_wait([this](asio::error_code ec) {
    if (!ec) arm_lease_timer();
  });
}

void SchedulerDaemon::fence(const std::string& reason) {
  if (stopping_) return;
  fatal_ = reason;
  std::fprintf(stderr, "fulcrum scheduler: %s in epoch %llu: %s; stopping\n", leading_ ? "leader fenced" : "standby stopping",
               static_cast<unsigned long long>(epoch_), reason.c_str());
  if (core_) write_event(now(), "fenced", "", reason, true);
  stop();
  // The loop ends here; `fulcrum scheduler` then starts a fresh daemon, which rejoins as a
  // standby (or, with --exit-on-fence, exits with status 3 for a supervisor).
  io_.stop();
}

void SchedulerDaemon::on_zk_event(const ZkEvent& e) {
  if (stopping_) return;
  if (e.session_lost()) {
    fence("ZooKeeper session expired");
    return;
  }
  if (e.is_session()) {
    log("ZooKeeper session state " + std::to_string(e.state));
    return;
  }
  if (leading_) return;
  const std::string& root = options_.zk_root;
  if (e.path == root + "/journal") {
    // A standby stays warm: it reads each batch as the leader writes it.
    if (auto n = follower_->catch_up(true); !n) standby_trouble("following the journal: " + n.error());
  } else if (e.path.rfind(root + "/election/", 0) == 0) {
    check_election();
  }
}

void SchedulerDaemon::check_election() {
  if (leading_ || stopping_) return;
  const std::string dir = options_.zk_root + "/election";
  auto names = zk_->children(dir);
  if (!names) {
    standby_trouble("election: " + names.error());
    return;
  }
  // Same prefix, zero-padded sequence numbers: name order is creation order.
  std::sort(names->begin(), names->end());
  auto me = std::find(names->begin(), names->end(), election_node_);
  if (me == names->end()) {
    fence("election: our node " + election_node_ + " is gone (session lost)");
    return;
  }
  if (me == names->begin()) {
    become_leader();
    return;
  }
  // Watch only the predecessor: one replica wakes when a node goes, not all of them.
  const std::string predecessor = dir + "/" + *std::prev(me);
  auto there = zk_->exists(predecessor, true);
  if (!there) {
    standby_trouble("election: " + there.error());
  } else if (!*there) {
    asio::post(io_, [this] { check_election(); });  // gone between the two reads
  } else {
    trouble_since_ = 0;
    log("standby behind " + predecessor);
  }
}

void SchedulerDaemon::standby_trouble(const std::string& what) {
  if (stopping_ || leading_) return;
  const std::int64_t now_ns = steady_ns();
  if (trouble_since_ == 0) trouble_since_ = now_ns;
  if (session_lost_->load() || now_ns - trouble_since_ > static_cast<std::int64_t>(zk_->negotiated_timeout() * 1e9)) {
    fence(what);
    return;
  }
  log("standby: " + what + "; trying again");
  retry_timer_->expires_after(std::chrono::milliseconds(200));
  retry_timer_->async_wait([this](asio::error_code ec) {
    if (!ec) resync();
  });
}

void SchedulerDaemon::resync() {
  if (stopping_ || leading_) return;
  if (auto n = follower_->catch_up(true); !n) {
    standby_trouble("following the journal: " + n.error());
    return;
  }
  check_election();
}

void SchedulerDaemon::become_leader() {
  const std::string& root = options_.zk_root;
  const std::int64_t sent = steady_ns();
  auto epoch = zk_take_epoch(*zk_, root);
  if (!epoch) {
    // Not leading yet, nothing sent: an epoch taken whose answer was lost only makes the
    // next one higher.
    standby_trouble("taking the epoch: " + epoch.error());
    return;
  }
  trouble_since_ = 0;
  lease_until_->store(sent + static_cast<std::int64_t>(zk_->negotiated_timeout() * 2.0 / 3.0 * 1e9));
  // Every write the server answers renews the lease too, so that a long snapshot (many
  // writes in a row on this thread, no ping) does not let it lapse.
  zk_->set_on_answered([lease = lease_until_, window = static_cast<std::int64_t>(zk_->negotiated_timeout() * 2.0 / 3.0 * 1e9)](
                           std::int64_t sent_ns) {
    const std::int64_t until = sent_ns + window;
    std::int64_t cur = lease->load();
    while (cur < until && !lease->compare_exchange_weak(cur, until)) {
    }
  });
  epoch_ = epoch->epoch;
  follower_->set_fence(epoch->version);
  // From here on no older leader can write: replay() reads the journal's final tail.
  zk_journal_ = follower_.get();
  journal_ = std::move(follower_);
  leading_ = true;
  if (auto served = serve(); !served) {
    fence("starting to lead: " + served.error());
    return;
  }
  const std::string data = advertised_address() + " " + std::to_string(epoch_);
  int rc = 0;
  auto published = zk_->fenced_multi(root + "/epoch", epoch->version, {{root + "/leader", data, ZOO_EPHEMERAL}}, &rc);
  if (!published && rc == zk_node_exists()) {
    // A deposed leader's node that has not gone yet: replace it, still fenced.
    published = zk_->fenced_multi(root + "/epoch", epoch->version,
                                  {{root + "/leader", "", 0, ZkClient::Op::Kind::kRemove}, {root + "/leader", data, ZOO_EPHEMERAL}}, &rc);
  }
  if (!published) {
    fence("publishing " + root + "/leader: " + published.error());
    return;
  }
  std::fprintf(stderr, "fulcrum scheduler: leading %s as epoch %llu at %s\n", root.c_str(),
               static_cast<unsigned long long>(epoch_), advertised_address().c_str());
}

}  // namespace fulcrum::real
