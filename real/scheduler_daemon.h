// The real-mode scheduler daemon: the core's Scheduler driven by TCP connections and the
// wall clock. It makes no scheduling decision itself.
//
// Every event that must survive a crash (job accepted, task finished or failed for good,
// job cancelled) is appended to the Journal and committed before it is applied to the
// core or acknowledged; events arriving together are committed together (group commit:
// one fdatasync per batch of the event loop). All events, journaled or not, are applied in
// arrival order. On start the daemon replays its journal into a fresh core and, if there
// was anything to replay, holds dispatches for `reconcile_grace` seconds so that workers
// that reconnect can claim the tasks they still run.
//
// A connection is a worker if its first message is Register, else a client. A malformed
// frame closes only that connection.
//
// Autoscaling (SchedulerOptions::autoscale): the core's kScaleOut runs the scale-out
// command once per worker, without blocking the event loop (real/child_processes.h); the
// worker it starts registers as usual, under the name the command was given, and counts as
// booted. A command that cannot start, exits non-zero before its worker joined, or whose
// worker does not join within boot_timeout is reported to the core (on_scale_out_failed)
// and in events.csv (scale_out_failed, an alert). kScaleIn needs nothing (the core drains
// the worker); on kRetire the worker is sent Retire (it exits) and the scale-in command,
// if any, runs.
//
// High availability (SchedulerOptions::zk_hosts): the daemon is one of several replicas.
// Each joins an election in ZooKeeper and, as a standby, follows the journal there; the
// first in line leads, writing the journal fenced on the epoch's version and dispatching
// only under a lease of its session (docs/real/ha-zookeeper.md).
//
// The implementation, one idea per file:
//   real/scheduler_daemon.cc    construction, start, accepting, the event loop and its
//                               group commit, commands out, notices to events.csv;
//   real/scheduler_handlers.cc  what each wire message (and a closed connection) means;
//   real/scheduler_autoscale.cc the autoscaler's commands: scale-out, boot timeouts, retire;
//   real/scheduler_replica.cc   the ZooKeeper half: election, following, lease, fencing;
//   real/scheduler_metrics.cc   /metrics.
// The core's flags (SchedulerOptions::core on the command line) are real/scheduler_flags.h.
#pragma once

#include <asio.hpp>

#include <atomic>
#include <cstdio>
#include <cstdint>
#include <functional>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/expected.h"
#include "core/scheduler.h"
#include "real/access.h"
#include "real/audit.h"
#include "real/child_processes.h"
#include "real/connection.h"
#include "real/journal.h"
#include "real/metrics.h"
#include "real/metrics_server.h"
#include "real/zk.h"
#include "real/zk_journal.h"

namespace fulcrum::real {

// The exit code of a task that failed at submission because it fits no worker (reason
// "unschedulable"; the Submit is answered with an ErrorReply naming it and the dimension).
inline constexpr std::int32_t kUnschedulableExitCode = 126;

struct SchedulerOptions {
  std::string listen = "127.0.0.1:0";  // port 0: pick a free one (see port())
  std::string journal_dir;             // required
  std::string policy = "least_connections";
  // The core's configuration (from a scenario: scheduler_config() in
  // scenario/scheduler_config.h; on the command line: real/scheduler_flags.h). Its epoch
  // is the daemon's own.
  SchedulerConfig core;
  double reconcile_grace = 2.0;        // seconds
  std::uint32_t max_frame = kDefaultMaxFrame;
  bool verbose = false;                // log connections and errors on stderr
  // Authentication (real/auth.h): a file holding the shared secret; empty: none (every
  // connection is accepted, as on a trusted loopback).
  std::string secret_file;
  // Mutual TLS (real/tls.h; docs/real/security.md): the scheduler's certificate (role
  // scheduler), key, CA and CRL; TLS is on when tls.cert is set, and then `access_file`
  // (real/access.h) is required: it says what each identity may do.
  TlsFiles tls;
  std::string access_file;
  // Seconds between checks of the access file's and the CRL's modification times (a change
  // reloads them, as SIGHUP does: reload()); 0: only on reload().
  double reload_check = 1.0;
  // Allow listening on an address other than loopback without authentication (no --cert,
  // no --secret-file). Without it such a start is refused; with it every start warns.
  bool insecure = false;
  // Prometheus /metrics over HTTP (port -1: off; host empty: the --listen host).
  MetricsEndpoint metrics;
  // Autoscaling: the core's autoscaler (off unless autoscale.enabled) and the commands that
  // start and stop workers, run with /bin/sh -c. In both, {address} is the scheduler's
  // HOST:PORT and {name} the worker's name; they are also in the environment as
  // FULCRUM_SCHEDULER and FULCRUM_WORKER_NAME.
  std::string scale_out_command;              // must start a worker registering as {name}
  std::string scale_in_command;               // optional; after Retire was sent to {name}
  std::vector<std::string> scale_out_names;   // names to start, first free first; empty: scaled-EPOCH-N
  double boot_timeout = 60;                   // seconds for a started worker to register
  // High availability (docs/real/ha-zookeeper.md): with zk_hosts set the
  // daemon is one of several replicas; the leader keeps the journal in ZooKeeper under
  // zk_root and journal_dir (optional then) holds only this replica's events.csv.
  std::string zk_hosts;
  std::string zk_root = "/fulcrum";
  double zk_session_timeout = 10;             // seconds
  std::uint64_t zk_snapshot_every = 1000;     // batches between snapshots (0: never)
};

class SchedulerDaemon {
 public:
  SchedulerDaemon(asio::io_context& io, SchedulerOptions options);
  ~SchedulerDaemon();
  // Opens and replays the journal, bumps the epoch, binds and starts accepting.
  Expected<bool> start();
  std::uint16_t port() const { return port_; }
  std::uint16_t metrics_port() const { return metrics_server_ ? metrics_server_->port() : 0; }
  // The Prometheus text exposition of the cluster now (real/scheduler_metrics.cc).
  std::string render_metrics() const;
  std::uint64_t epoch() const { return epoch_; }
  bool leading() const { return leading_; }
  // Why the daemon stopped on its own (journal lost, fenced by a newer leader, ZooKeeper
  // session lost); empty after a requested stop. A replica that stopped so holds no
  // state worth keeping: its owner starts a fresh daemon, which rejoins as a standby.
  const std::string& fatal() const { return fatal_; }
  // After start() failed: whether the failure was ZooKeeper being unreachable or busy
  // (a fresh daemon may succeed shortly) rather than bad options.
  bool start_may_succeed_later() const { return start_may_succeed_later_; }
  // Stops accepting, closes every connection and cancels timers; the io_context then
  // runs out of work.
  void stop();
  // Reads the access file and the CRL again, and the certificate files for connections to
  // come (SIGHUP; also when their modification time changes). Open connections whose
  // identity left the access file, changed role or tenant, or whose certificate is now
  // revoked are closed. On an Error (a broken file) nothing changes and the Error says
  // which file and why.
  Expected<bool> reload();

 private:
  // A connection: a worker once its Register is applied (`worker`), else a client.
  struct Peer {
    std::shared_ptr<Connection> conn;
    enum class Role { kUnknown, kWorker, kClient } role = Role::kUnknown;
    WorkerId worker = kNoWorker;
    std::string name;
    // With TLS: the identity its certificate proves and what the access file grants it
    // (looked up at its first message, again at each reload).
    std::string who;
    std::optional<Grant> grant;
  };
  // Starts the accept loop (once). A standby replica accepts and closes at once, so a
  // client that reached it sees the connection end and looks the leader up again, instead
  // of waiting on a socket nobody reads.
  void accept();
  void accept_next();
  // Checks the peer may send `m` (a worker's messages from workers only), then hands it to
  // its handler (real/scheduler_handlers.cc). Each handler refuses at once what it can
  // judge now and queues the rest, with its journal record, for the next group commit.
  void on_message(const std::shared_ptr<Peer>& peer, Message&& m);
  // Security (real/scheduler_security.cc). Whether the peer may send `m`: with TLS, its
  // certificate's identity must be in the access file and its role allow the request;
  // a refusal is answered (after the audit trail's commit), audited when the request
  // would change state, and closes the connection when the peer cannot be let on at all.
  bool authorize(const std::shared_ptr<Peer>& peer, const Message& m);
  void refuse(const std::shared_ptr<Peer>& peer, std::optional<Action> action, const std::string& target,
              const std::string& why, bool close);
  void audit(const Peer& peer, Action action, const std::string& target, bool accepted, const std::string& reason = "");
  // A submitter may act only on its own tenant's jobs: "" when `peer` may, else why not.
  std::string tenant_refusal(const Peer& peer, std::uint64_t task, const char* verb) const;
  Expected<bool> load_security();
  void arm_reload_check();
  std::optional<std::filesystem::file_time_type> mtime(const std::string& path) const;
  void on_register(const std::shared_ptr<Peer>& peer, const Register& m);
  void on_heartbeat(const std::shared_ptr<Peer>& peer);
  void on_task_started(const std::shared_ptr<Peer>& peer, const TaskStarted& m);
  void on_task_done(const std::shared_ptr<Peer>& peer, TaskDone& m);
  void on_submit(const std::shared_ptr<Peer>& peer, Submit& m);
  std::string note_unschedulable(std::uint64_t job, std::uint64_t first, const JobSpec& spec);
  std::string refusal_of(std::uint64_t first, std::uint32_t count) const;
  void on_status_request(const std::shared_ptr<Peer>& peer, const StatusRequest& m);
  void on_cancel_request(const std::shared_ptr<Peer>& peer, const CancelRequest& m);
  void on_records_request(const std::shared_ptr<Peer>& peer);
  void on_shutdown_request(const std::shared_ptr<Peer>& peer);
  void on_closed(const std::shared_ptr<Peer>& peer, const std::string& reason);
  // Queues an event (and its journal record, if any) for the next group commit.
  void enqueue(std::function<void()> apply, const JournalRecord* record = nullptr);
  void flush();
  void send_commands();
  // FULCRUM_RANK, FULCRUM_SIZE and FULCRUM_HOSTS for a gang member's Dispatch; none otherwise.
  std::vector<std::string> gang_env(TaskId task) const;
  void arm_wakeup();
  void answer_waiters();
  double now();
  TaskStatus status_of(std::uint64_t task) const;
  void log(const std::string& line) const;
  // Appends the core's notices to JOURNAL/events.csv (one line each, flushed), so that
  // they outlive this process like the journal does.
  void record_notices();
  void write_event(double time, const std::string& kind, const std::string& host, const std::string& detail, bool alert);
  Expected<bool> replay();
  // The part of start() after the epoch is known: core, events, replay, listening.
  Expected<bool> serve();
  Expected<bool> bind();
  // HOST:PORT as workers reach this daemon: the --listen host (loopback for 0.0.0.0) and
  // the port bound. Named in the election node and given to scale-out commands.
  std::string advertised_address() const;
  // High availability (real/scheduler_replica.cc): join the election, follow the journal,
  // lead when elected.
  Expected<bool> start_replica();
  void on_zk_event(const ZkEvent& e);
  void check_election();
  // A standby's ZooKeeper call failed (a server killed, the connection moving to another
  // one): read the journal and the election again shortly. Only after a session timeout
  // of failures in a row does it give up its place (fence, and its owner rejoins afresh).
  void standby_trouble(const std::string& what);
  void resync();
  void become_leader();
  void arm_lease_timer();
  bool lease_ok() const;
  void fence(const std::string& reason);
  // Monitoring counters (real/scheduler_metrics.cc): after replay, on a task finished.
  void seed_metrics();
  void count_finished(TaskId t, bool was_finished);
  // Autoscaling (real/scheduler_autoscale.cc): runs the scale-out command for `n` workers;
  // sends Retire to w.
  void scale_out(std::uint32_t n);
  void retire(WorkerId w);
  void boot_failed(const std::string& name, const std::string& why);
  void arm_boot_timer();
  std::string free_name();

  asio::io_context& io_;
  SchedulerOptions options_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer wakeup_;
  std::unique_ptr<Scheduler> core_;
  std::unique_ptr<JournalStore> journal_;
  std::uint16_t port_ = 0;
  std::string secret_;  // from options_.secret_file
  // Security: the TLS context for new connections, the access file, the CRL's serials,
  // the audit trail, and what the last load saw of the files' times.
  std::shared_ptr<asio::ssl::context> tls_context_;
  AccessPolicy access_;
  std::set<std::string> revoked_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<asio::steady_timer> reload_timer_;
  std::optional<std::filesystem::file_time_type> access_mtime_, crl_mtime_;
  std::uint64_t refused_requests_ = 0;
  std::uint64_t reloads_ = 0;
  std::vector<std::string> job_tenants_;  // by job id (replayed, then as jobs are accepted)
  std::uint64_t epoch_ = 0;
  double last_now_ = 0;
  bool stopping_ = false;
  bool accepting_ = false;

  // Beside the core's task table, indexed by TaskId: what each task is and how it ended.
  DurableState durable_;
  // Tasks whose final failure a worker reported and this daemon journaled before applying
  // it; any other kTaskFailed notice (a timeout) is journaled when it is seen.
  std::unordered_set<std::uint64_t> failure_journaled_;
  std::vector<double> started_at_;  // when each task's TaskStarted arrived (-1: not yet)
  // When the TaskDone that finished each task arrived (-1: not finished here): the end its
  // TaskFinished record journals, which records report (the core's end is when the batch
  // was applied, after the commit, when the worker may have started the next task).
  std::vector<double> ended_at_;
  std::uint64_t next_job_ = 0;   // ids assigned when journaled, before the core applies
  std::uint64_t next_task_ = 0;

  std::vector<std::shared_ptr<Peer>> peers_;
  std::vector<std::shared_ptr<Peer>> workers_;  // by WorkerId
  std::multimap<std::uint64_t, std::shared_ptr<Peer>> waiters_;  // task -> clients waiting
  std::vector<std::function<void()>> batch_;
  bool flush_posted_ = false;
  std::vector<Command> commands_;
  std::FILE* events_ = nullptr;
  // Monitoring: counters kept as events pass; everything else is read on scrape.
  struct Stats {
    std::uint64_t dispatched = 0, finished = 0, failed = 0;
    std::uint64_t notices[32] = {};  // by Notice::Kind
    std::uint64_t alerts[32] = {};
    Histogram response{seconds_buckets()};  // submit -> end of finished tasks
  } stats_;
  std::unique_ptr<MetricsServer> metrics_server_;
  // Autoscaling: the commands run, and the workers started that have not registered yet
  // (name -> deadline, and the command's pid while it runs).
  std::unique_ptr<ChildProcesses> children_;
  std::unique_ptr<asio::steady_timer> boot_timer_;
  struct Boot {
    double deadline = 0;
    pid_t pid = -1;            // -1: the command ended
    std::uint64_t serial = 0;  // which start this is (a name can be started again)
  };
  std::map<std::string, Boot> booting_;
  std::uint64_t scaled_ = 0;  // names generated so far
  std::uint64_t boots_ = 0;   // scale-out commands started
  // High availability.
  std::unique_ptr<ZkClient> zk_;
  std::unique_ptr<ZkJournal> follower_;   // a standby's journal, handed to journal_ on promotion
  const ZkJournal* zk_journal_ = nullptr;  // journal_, once a replica leads (for /metrics)
  std::string election_node_;
  std::unique_ptr<asio::steady_timer> retry_timer_;
  std::int64_t trouble_since_ = 0;  // steady_clock ns of the first failure in a row (0: none)
  bool start_may_succeed_later_ = false;
  bool leading_ = false;
  bool first_dispatch_ = false;
  std::string fatal_;
  // The leader may dispatch while its session is certainly alive: until 2/3 of the session
  // timeout after the send of its last answered ZooKeeper request (steady_clock ns).
  std::shared_ptr<std::atomic<std::int64_t>> lease_until_ = std::make_shared<std::atomic<std::int64_t>>(0);
  std::shared_ptr<std::atomic<bool>> session_lost_ = std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<asio::steady_timer> lease_timer_;
};

}  // namespace fulcrum::real
