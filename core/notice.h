// What the core reports besides commands — failure detection, retries, alerts, scaling —
// and the one text each notice is written with, so that the simulator's and the daemons'
// events.csv say the same thing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/autoscaler.h"
#include "core/types.h"

namespace fulcrum {

// What the core reports besides commands: failure detection, retries, alerts. Drivers
// write them to events.csv; `alert` ones are the operator-facing alerts.
struct Notice {
  enum class Kind : std::uint8_t {
    kWorkerSuspected,    // silent for suspect_after: no new tasks
    kWorkerAlive,        // a suspected worker was heard from again
    kWorkerDead,         // declared dead (silence or disconnect): its tasks move (alert)
    kWorkerQuarantined,  // failed quarantine_after times within the window (alert)
    kWorkerReleased,     // its quarantine is over
    kTaskTimedOut,       // a running attempt exceeded task_timeout
    kTaskRetry,          // a failed attempt will be retried after `value` seconds
    kTaskFailed,         // failed for good (alert)
    kWorkRecovered,      // every task a dead worker held has finished or failed for good
    kBacklogHigh,        // backlog_alert or more tasks wait centrally (alert)
    kBacklogCleared,
    kScaleOut,           // the autoscaler starts `count` workers (value: the metric)
    kScaleIn,            // the autoscaler drains `worker` (value: the metric)
    kWorkerRetired,      // a draining worker is empty: it is stopped
    kTaskUnschedulable,  // fits no worker of the cluster: failed at submission (alert)
    kTaskPreempted,      // stopped to make room for owed or higher-class work (value: seconds lost)
  };
  Time time = 0;
  Kind kind = Kind::kWorkerDead;
  WorkerId worker = kNoWorker;
  TaskId task = 0;
  double value = 0;  // kind-specific: tasks moved, backoff, backlog length, ...
  bool alert = false;
  std::uint32_t count = 0;  // kScaleOut: workers started
};
std::string_view to_string(Notice::Kind kind);

// The `detail` column of events.csv for a notice ("3 tasks moved", "task 7 retried after
// 2 s", ...); `metric` is the autoscaler's metric (scale notices only).
std::string notice_detail(const Notice& n, AutoscaleConfig::Metric metric);

}  // namespace fulcrum
