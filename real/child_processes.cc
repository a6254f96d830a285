#include "real/child_processes.h"

#include <spawn.h>
#include <sys/wait.h>

#include <cstring>

extern char** environ;

namespace fulcrum::real {

std::string expand_placeholders(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [key, value] : values) {
    const std::string placeholder = "{" + key + "}";
    for (std::size_t at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder, at + value.size())) {
      text.replace(at, placeholder.size(), value);
    }
  }
  return text;
}

ChildProcesses::ChildProcesses(asio::io_context& io, double poll_seconds) : timer_(io), poll_seconds_(poll_seconds) {}

ChildProcesses::~ChildProcesses() { stop(); }

void ChildProcesses::stop() {
  stopped_ = true;
  timer_.cancel();
}

Expected<pid_t> ChildProcesses::run(const std::string& command,
                                    const std::vector<std::pair<std::string, std::string>>& env, OnExit on_exit) {
  std::vector<std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string var = *e;
    bool replaced = false;
    for (const auto& [key, value] : env) replaced = replaced || var.rfind(key + "=", 0) == 0;
    if (!replaced) vars.push_back(var);
  }
  for (const auto& [key, value] : env) vars.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (std::string& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // The daemon's sockets, journal and event log stay the daemon's.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t pid = 0;
  // Same process group as the daemon: a terminal's ^C stops the workers it started too.
  const int rc = ::posix_spawn(&pid, sh.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Error{"cannot start /bin/sh: " + std::string(std::strerror(rc))};
  children_.emplace(pid, std::move(on_exit));
  arm();
  return pid;
}

void ChildProcesses::arm() {
  if (armed_ || stopped_ || children_.empty()) return;
  armed_ = true;
  timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(poll_seconds_)));
  timer_.async_wait([this](asio::error_code ec) {
    armed_ = false;
    if (ec || stopped_) return;
    poll();
    arm();
  });
}

void ChildProcesses::poll() {
  std::vector<std::pair<OnExit, int>> exited;
  for (auto it = children_.begin(); it != children_.end();) {
    int status = 0;
    const pid_t r = ::waitpid(it->first, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR)) {
      ++it;
      continue;
    }
    const int code = r < 0 ? 255 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    exited.emplace_back(std::move(it->second), code);
    it = children_.erase(it);
  }
  // Called after the scan: a callback may start another child.
  for (auto& [on_exit, code] : exited) {
    if (on_exit) on_exit(code);
  }
}

}  // namespace fulcrum::real
