// The scheduler core's flags: the options of `fulcrum scheduler` that set a SchedulerConfig
// (core/scheduler.h), in one place for both directions. The CLI reads them
// (add_scheduler_flags); drivers that start a daemon from a scenario write them
// (scheduler_flags: real/local_run.cc). Keeping both here, beside a test that round-trips
// every field (real/tests/scheduler_flags_test.cc), is what stops a field of the config
// from reaching the simulator and not a real daemon.
//
// The epoch is not a flag: it is the daemon's own (its journal's, or ZooKeeper's).
#pragma once

#include <string>
#include <vector>

#include "core/scheduler.h"

namespace CLI {
class App;
}

namespace fulcrum::real {

// The flags that give a daemon's core `config`, the epoch aside. The autoscaler's settings
// are written only when it is enabled (a daemon without --autoscale ignores them). Numbers
// are written exactly (%.17g), so a parse gives back the same doubles.
std::vector<std::string> scheduler_flags(const SchedulerConfig& config);

// Adds the same flags to `app`, bound to `config`, whose values are the defaults the help
// shows. `config` must outlive the parse. Takes the app's final callback, which completes
// the configuration once every option is read, as the scenario loader does for
// `autoscale:` (scenario/load_settings.cc): --autoscale-window, when not given, is at least
// --autoscale-period; one given below the period is refused (a CLI::ValidationError).
void add_scheduler_flags(CLI::App& app, SchedulerConfig& config);

}  // namespace fulcrum::real
