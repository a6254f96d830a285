// Autoscaling in real mode: the commands the core's kScaleOut and kRetire become.
//
// Contract: the event loop never blocks on a command (real/child_processes.h runs them
// under /bin/sh -c and reaps them on the loop). A scale-out started here is "booting"
// (booting_) until a worker registers under its name (on_register erases it); one that
// cannot start, exits non-zero first, or outlives boot_timeout is reported to the core
// (on_scale_out_failed) and in events.csv (scale_out_failed, an alert), exactly once per
// start: the serial tells a late exit of an earlier start of the same name apart.
#include "real/scheduler_daemon.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace fulcrum::real {

// Without --scale-out-names every start gets a new name (the epoch keeps a new leader's
// apart from its predecessor's). With them, a name is free unless a start of it is booting
// or a live worker holds it, so a retired or dead host can be started again; "" when none.
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

}  // namespace fulcrum::real
