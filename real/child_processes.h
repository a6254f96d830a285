// Shell commands run from an event loop without blocking it: the scheduler daemon's
// scale-out and scale-in commands.
//
// run() starts `/bin/sh -c COMMAND` with posix_spawn (the daemon's descriptors above 2 are
// closed in the child, so it holds no socket or lock of the daemon), with extra
// environment variables, and returns at once. Children are reaped by polling waitpid
// (WNOHANG) on a timer of the io_context while any runs; `on_exit` then gets the exit
// status (0..255, or 128 + signal). A child still running when the ChildProcesses is
// destroyed is left running (a worker started by a scale-out outlives a scheduler restart
// and reconnects), and is reaped by init.
#pragma once

#include <asio.hpp>

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/expected.h"

namespace fulcrum::real {

// `text` with every {key} of `values` replaced by its value (other braces are kept).
std::string expand_placeholders(std::string text, const std::vector<std::pair<std::string, std::string>>& values);

class ChildProcesses {
 public:
  using OnExit = std::function<void(int status)>;
  explicit ChildProcesses(asio::io_context& io, double poll_seconds = 0.02);
  ~ChildProcesses();
  // Starts `/bin/sh -c command` with `env` added to the environment.
  Expected<pid_t> run(const std::string& command, const std::vector<std::pair<std::string, std::string>>& env,
                      OnExit on_exit);
  std::size_t running() const { return children_.size(); }
  // Stops polling (the children are not signalled); nothing is reported afterwards.
  void stop();

 private:
  void poll();
  void arm();

  asio::steady_timer timer_;
  double poll_seconds_;
  bool armed_ = false;
  bool stopped_ = false;
  std::map<pid_t, OnExit> children_;
};

}  // namespace fulcrum::real
