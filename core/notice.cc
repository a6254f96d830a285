#include "core/notice.h"

#include <cstdio>

namespace fulcrum {

std::string_view to_string(Notice::Kind kind) {
  switch (kind) {
    case Notice::Kind::kWorkerSuspected: return "worker_suspected";
    case Notice::Kind::kWorkerAlive: return "worker_alive";
    case Notice::Kind::kWorkerDead: return "worker_dead";
    case Notice::Kind::kWorkerQuarantined: return "worker_quarantined";
    case Notice::Kind::kWorkerReleased: return "worker_released";
    case Notice::Kind::kTaskTimedOut: return "task_timed_out";
    case Notice::Kind::kTaskRetry: return "task_retry";
    case Notice::Kind::kTaskFailed: return "task_failed";
    case Notice::Kind::kWorkRecovered: return "work_recovered";
    case Notice::Kind::kBacklogHigh: return "backlog_high";
    case Notice::Kind::kTaskUnschedulable: return "task_unschedulable";
    case Notice::Kind::kBacklogCleared: return "backlog_cleared";
    case Notice::Kind::kScaleOut: return "scale_out";
    case Notice::Kind::kScaleIn: return "scale_in";
    case Notice::Kind::kWorkerRetired: return "worker_retired";
    case Notice::Kind::kTaskPreempted: return "task_preempted";
  }
  return "?";
}

namespace {
// %g with three significant digits, as the scale notices print their metric.
std::string short_number(double x, const char* format = "%.3g") {
  char text[32];
  std::snprintf(text, sizeof text, format, x);
  return text;
}
}  // namespace

std::string notice_detail(const Notice& n, AutoscaleConfig::Metric metric) {
  const std::string task = "task " + std::to_string(n.task);
  switch (n.kind) {
    case Notice::Kind::kWorkerDead: return std::to_string(static_cast<long>(n.value)) + " tasks moved";
    case Notice::Kind::kTaskRetry: return task + " retried after " + short_number(n.value, "%g") + " s";
    case Notice::Kind::kTaskFailed: return task + " failed for good";
    case Notice::Kind::kTaskUnschedulable: return task + " fits no worker";
    case Notice::Kind::kTaskTimedOut: return task;
    case Notice::Kind::kTaskPreempted: return task + " preempted after " + short_number(n.value, "%g") + " s";
    case Notice::Kind::kBacklogHigh:
    case Notice::Kind::kBacklogCleared: return std::to_string(static_cast<long>(n.value)) + " tasks waiting";
    case Notice::Kind::kScaleOut:
      return "+" + std::to_string(n.count) + " workers (" + std::string(to_string(metric)) + " " + short_number(n.value) + ")";
    case Notice::Kind::kScaleIn: return "draining (" + std::string(to_string(metric)) + " " + short_number(n.value) + ")";
    default: return "";
  }
}

}  // namespace fulcrum
