// Quarantine: a worker whose attempts failed quarantine_after times within
// quarantine_window seconds gets no new tasks for quarantine_for seconds (a bad disk, a
// broken library: better idle than a sink for retries).
//
// Failure histories are kept per worker name, so a host keeps its record across crashes
// when it rejoins under a new WorkerId; the benched workers are kept by WorkerId. The
// `quarantined` flag itself lives in ClusterState, set by the scheduler on its verdicts.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/types.h"

namespace fulcrum {

class Quarantine {
 public:
  struct Config {
    std::uint32_t after = 0;  // 0: never
    double window = 60;
    double duration = 60;
  };
  explicit Quarantine(const Config& config) : config_(config) {}

  bool enabled() const { return config_.after > 0; }
  double duration() const { return config_.duration; }
  // An attempt failed on `w` (named `name`) at `now`. `benchable`: w is alive and not
  // benched already. Returns true if w is benched from now until now + duration.
  bool failed(Time now, const std::string& name, WorkerId w, bool benchable);
  // w died: it is benched no longer (its name keeps its history).
  void forget(WorkerId w) { ends_.erase(w); }
  // The workers whose time is up at `now`, in WorkerId order, forgotten here.
  std::vector<WorkerId> release(Time now);

 private:
  Config config_;
  std::map<std::string, std::deque<Time>> failures_;  // per worker name: recent failure times
  std::map<WorkerId, Time> ends_;                     // benched workers: until when
};

}  // namespace fulcrum
