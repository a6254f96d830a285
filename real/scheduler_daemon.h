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
#pragma once

#include <asio.hpp>

#include <cstdio>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/expected.h"
#include "core/scheduler.h"
#include "real/connection.h"
#include "real/journal.h"

namespace fulcrum::real {

struct SchedulerOptions {
  std::string listen = "127.0.0.1:0";  // port 0: pick a free one (see port())
  std::string journal_dir;             // required
  std::string policy = "least_connections";
  int queue_cap = -1;
  std::uint64_t seed = 1;
  std::uint32_t max_attempts = 3;
  double reconcile_grace = 2.0;        // seconds
  // Failure detection on heartbeats (0: off; a closed connection always counts as dead).
  double suspect_after = 0;
  double dead_after = 0;
  double detector_period = 1.0;
  double retry_backoff = 0;
  double task_timeout = 0;
  std::uint32_t quarantine_after = 0;
  double quarantine_window = 60;
  double quarantine_for = 60;
  std::uint64_t backlog_alert = 0;
  std::uint32_t max_frame = kDefaultMaxFrame;
  bool verbose = false;                // log connections and errors on stderr
};

class SchedulerDaemon {
 public:
  SchedulerDaemon(asio::io_context& io, SchedulerOptions options);
  ~SchedulerDaemon();
  // Opens and replays the journal, bumps the epoch, binds and starts accepting.
  Expected<bool> start();
  std::uint16_t port() const { return port_; }
  std::uint64_t epoch() const { return epoch_; }
  // Stops accepting, closes every connection and cancels timers; the io_context then
  // runs out of work.
  void stop();

 private:
  struct Peer;
  void accept();
  void on_message(const std::shared_ptr<Peer>& peer, Message&& m);
  void on_closed(const std::shared_ptr<Peer>& peer, const std::string& reason);
  // Queues an event (and its journal record, if any) for the next group commit.
  void enqueue(std::function<void()> apply, const JournalRecord* record = nullptr);
  void flush();
  void send_commands();
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

  asio::io_context& io_;
  SchedulerOptions options_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer wakeup_;
  std::unique_ptr<Scheduler> core_;
  std::unique_ptr<Journal> journal_;
  std::uint16_t port_ = 0;
  std::uint64_t epoch_ = 0;
  double last_now_ = 0;
  bool stopping_ = false;

  // Beside the core's task table, indexed by TaskId: what each task is and how it ended.
  DurableState durable_;
  std::vector<double> started_at_;  // when each task's TaskStarted arrived (-1: not yet)
  std::uint64_t next_job_ = 0;   // ids assigned when journaled, before the core applies
  std::uint64_t next_task_ = 0;

  std::vector<std::shared_ptr<Peer>> peers_;
  std::vector<std::shared_ptr<Peer>> workers_;  // by WorkerId
  std::multimap<std::uint64_t, std::shared_ptr<Peer>> waiters_;  // task -> clients waiting
  std::vector<std::function<void()>> batch_;
  bool flush_posted_ = false;
  std::vector<Command> commands_;
  std::FILE* events_ = nullptr;
};

}  // namespace fulcrum::real
