// A state-machine harness for the Scheduler: it turns a stream of choices (a fuzzer's
// bytes, or a seeded Rng) into an arbitrary sequence of events that a driver could legally
// feed the core, and checks the core's invariants after every event.
//
// The harness models what the drivers model: worker hosts (processes that execute
// dispatched tasks in FIFO order on their slots, finish or fail them, crash, restart,
// lose and re-open their connection, claim what they still run when they register, keep
// the reports of what finished while disconnected), the connections between them and the
// scheduler (FIFO both ways; messages may wait in flight for as long as the choices say,
// so every report can arrive late, after its task moved; a close may or may not reach the
// scheduler), the journal (a completion is journaled only when the core holds the task
// on the reporting worker, as real/scheduler_daemon.cc does; failures for good and
// cancelled jobs too), leader failovers (a fresh Scheduler replays the journal with
// replay_record, begins recovery, and the hosts register again with their claims),
// scale-outs that boot or fail, and time that passes with or without ticks.
//
// Invariants checked after every event (the first broken one ends the run):
// - a worker's lists: no task twice, in_system = queue + running, a dead worker holds
//   nothing, running <= slots (beyond that only tasks it claimed when it registered that
//   had finished already, while their report is on its way), in_system <= slots +
//   queue_cap right after a dispatch to it, the eligible set is exactly the alive,
//   unsuspected, unquarantined, undrained workers with room;
// - every task is in exactly one state and one place: queued / running on exactly one
//   list, its worker's; blocked / pending / terminal on none; blocked exactly while a
//   parent is unfinished; terminal states are final; end is set exactly when terminal;
// - at most one completion is ever recorded per task (across failovers too), and a
//   task that finished is never dispatched again;
// - a dispatch goes to an alive, unsuspected, unquarantined, undrained worker (checked
//   inside the policy's pick as well), and the task is queued there;
// - command epochs are the current leader's and never go back;
// - tasks_unfinished() and each job's unfinished count match the table;
// - after a failover by replay, replay emitted no command, and the new core's terminal
//   tasks are exactly the old core's, with equal state, attempts, start and end;
// - at the end (Options::quiesce), once every close reached the scheduler and every host
//   works, delivers and reports promptly, no task is lost: each ends terminal, or blocked
//   behind a parent that failed or was cancelled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/random.h"

namespace fulcrum::harness {

// Where the harness's decisions come from.
class Choices {
 public:
  virtual ~Choices() = default;
  // A number in [0, n); 0 when n <= 1.
  virtual std::uint32_t pick(std::uint32_t n) = 0;
  // No more input: the run ends.
  virtual bool done() const = 0;
};

// A fuzzer's input: one byte per choice (two when n > 256); zeros once it is used up.
class ByteChoices final : public Choices {
 public:
  ByteChoices(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint32_t pick(std::uint32_t n) override;
  bool done() const override { return pos_ >= size_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// A seeded stream: never done (the harness's max_events ends the run).
class RngChoices final : public Choices {
 public:
  explicit RngChoices(std::uint64_t seed) : rng_(seed, /*stream=*/11) {}
  std::uint32_t pick(std::uint32_t n) override {
    return n <= 1 ? 0 : static_cast<std::uint32_t>(rng_.uniform_int(n));
  }
  bool done() const override { return false; }

 private:
  Rng rng_;
};

struct Options {
  std::size_t max_events = 400;
  // Keep a readable line per event in Outcome::log (a reproducer's script).
  bool log = true;
  // Also print each line to stderr as it happens (to see the events before a core
  // assert aborts the process).
  bool echo = false;
  // At the end, let the world turn benign and check that no task was lost (every one
  // ends terminal, or blocked behind a parent that failed or was cancelled).
  bool quiesce = true;
};

struct Outcome {
  bool ok = true;
  std::string failure;            // the first invariant broken, "" if none
  std::vector<std::string> log;   // the configuration, then one line per event
  std::size_t events = 0;
  std::uint64_t digest = 0;       // of every command and notice, in order (determinism)
  // What the run exercised (for the property test's coverage checks).
  std::size_t dispatches = 0, completions = 0, failed_for_good = 0, cancels = 0, failovers = 0, claims = 0,
              deaths = 0, timeouts = 0, scale_outs = 0, quarantines = 0, stale_reports = 0,
              preemptions = 0;
};

Outcome run(Choices& choices, const Options& options = {});

// The log and the failure, one line each.
std::string describe(const Outcome& outcome);

}  // namespace fulcrum::harness
