// Runs the tasks of one real-mode worker on the worker daemon's Asio event loop.
//
// The worker daemon is single-threaded around an io_context; the Executor never blocks it:
//  - kCommand: `/bin/sh -c command` in its own process group, stdin from /dev/null, stdout
//    and stderr interleaved into one pipe read asynchronously, at most kMaxOutputBytes of
//    it kept (the tail, after a "[... N bytes cut]" line). The task ends when the shell
//    has exited and the output buffered in the pipe has been read: whatever is left in
//    the shell's process group (background jobs still holding the pipe) is SIGKILLed
//    then, so a task never outlives its report and never leaks processes on the worker.
//    Exit code: the shell's, or -N if a signal N killed it. With `timeout` > 0 the group
//    is SIGKILLed at the deadline and the outcome is 124 plus a "[timed out after T s]"
//    line, like timeout(1). So an outcome's output is at most kMaxOutputBytes of the
//    task's own bytes plus these two short notes. A command with a Confinement (its
//    cgroups, its RLIMIT_AS: real/cgroups.h) is started by clone(CLONE_VM | CLONE_VFORK)
//    instead, the child joining its cgroups and setting its rlimit before exec, otherwise
//    as posix_spawn does.
//  - kBurn: a std::thread per task keeps a CPU busy for flops / speed * factor seconds;
//    its end is posted back to the io_context.
//  - kSleep: a timer of flops / speed * factor seconds.
//  Synthetic tasks honour `timeout` too: one that would run past it ends at the timeout
//  with the same 124 outcome.
//
// Contract:
//  - Everything but the burn threads runs on the io_context's thread: call the Executor
//    from there only (it is not thread-safe), and run the io_context on one thread.
//  - REQUIRES: the io_context outlives the Executor.
//  - The `done` callback is called exactly once per task, from a handler of the
//    io_context (never from inside start()), unless cancel() or kill_all() came first.
//    It may call back into the Executor (start, cancel, ...) and may even destroy it.
//  - While a task runs (or a cancelled one is being cleaned up: a killed child not yet
//    reaped, a burn thread not yet joined) the io_context has outstanding work, so
//    io_context::run() returns only when the Executor is idle.
//  - Children are watched through a pidfd (Linux >= 5.3), falling back to polling
//    waitid() every few milliseconds, never with a SIGCHLD handler: the Executor installs
//    no process-wide signal handler, so several Executors can share a process. It reaps
//    only its own children, by pid; REQUIRES: nothing else in the process reaps them
//    (waitpid(-1) or SIGCHLD set to SIG_IGN would steal their exit status).
//  - Destroying the Executor kills everything still running (kill_all()). That, and
//    kill_all() itself, wait briefly for the SIGKILLed children and the burn threads, so
//    that neither zombies nor threads outlive it.
#pragma once

#include <asio/io_context.hpp>

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/job_spec.h"

namespace fulcrum::real {

// How a command's process is set up between fork and exec: confined so that nothing it
// does escapes (real/cgroups.h makes these from a task's request), and what it finds in
// its environment besides the daemon's.
struct Confinement {
  std::vector<std::string> cgroup_procs;  // cgroup.procs files the child writes its pid to
  std::uint64_t address_space = 0;        // RLIMIT_AS in bytes; 0: left as it is
  std::vector<std::string> env;           // NAME=value, over the daemon's (a gang's FULCRUM_*)
  // Nothing to confine (the environment needs no fork and exec of our own).
  bool empty() const { return cgroup_procs.empty() && address_space == 0; }
};

class Executor {
 public:
  // `speed`: this worker's flop/s, for synthetic tasks. REQUIRES: speed > 0.
  Executor(asio::io_context& io, double speed);
  ~Executor();

  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  using Done = std::function<void(std::uint64_t task, TaskOutcome outcome)>;

  // Starts the task at once. How many tasks run at a time is the caller's business: the
  // Executor runs whatever it is given. A task that cannot be started (no process or
  // thread could be created) ends with exit code 127 and a line saying why.
  // A command with a non-empty `confine` is started with fork and exec instead of
  // posix_spawn: the child joins the cgroups and sets the rlimit first, and a step that
  // fails there fails the start (127, saying which). Synthetic tasks ignore it.
  // REQUIRES: `task` is not running.
  void start(std::uint64_t task, const TaskSpec& desc, Done done, const Confinement& confine = {});

  // Stops the task if it runs: SIGKILL to a command's process group (the child is still
  // reaped, asynchronously), stop flag of a burn (its thread is joined once it noticed),
  // cancelled timer of a sleep. `done` is not called afterwards. Returns false if
  // `task` is not running (unknown, finished, or its `done` already called).
  bool cancel(std::uint64_t task);

  // Slows every synthetic task started from now on by `factor` (slowdown faults); 1
  // restores full speed. Commands are not affected. REQUIRES: factor >= 1.
  void set_speed_factor(double factor);

  std::size_t running() const { return runs_.size(); }
  // Sorted.
  std::vector<std::uint64_t> running_tasks() const;

  // Cancels every running task and waits for the SIGKILLed children to be reaped and the
  // burn threads to be joined (short: a SIGKILLed process dies at once unless stuck in
  // the kernel; a burn checks its stop flag every few microseconds). Used at shutdown.
  void kill_all();

 private:
  struct Run;

  void start_command(const std::shared_ptr<Run>& r, const TaskSpec& desc, const Confinement& confine);
  // The child `pid` runs, writing to `output` (the pipe's read end): watch it.
  void started_command(const std::shared_ptr<Run>& r, pid_t pid, int output);
  void start_burn(const std::shared_ptr<Run>& r, double seconds);
  void start_sleep(const std::shared_ptr<Run>& r, double seconds);
  // Reports `why` as the task's failure to start, from the io_context.
  void fail_soon(const std::shared_ptr<Run>& r, std::string why);

  void watch_exit(const std::shared_ptr<Run>& r);
  void poll_exit(const std::shared_ptr<Run>& r);
  void on_exit(const std::shared_ptr<Run>& r);
  void read_more(const std::shared_ptr<Run>& r);
  void complete_command(const std::shared_ptr<Run>& r);
  void on_burn_end(const std::shared_ptr<Run>& r);
  // Removes r from runs_ and calls its `done`; the caller must not touch `this` after.
  void finish(const std::shared_ptr<Run>& r, TaskOutcome outcome);

  asio::io_context& io_;
  const double speed_;
  double speed_factor_ = 1;
  // Every Run is owned here and only here: handlers hold weak_ptrs and lock them before
  // touching `this`, so a handler that runs after its task was dropped, or after the
  // Executor was destroyed, finds nothing and does nothing.
  std::unordered_map<std::uint64_t, std::shared_ptr<Run>> runs_;  // running, by task
  // Cancelled, still being cleaned up: a killed child until reaped, a burn thread until
  // joined.
  std::unordered_set<std::shared_ptr<Run>> retiring_;
};

}  // namespace fulcrum::real
