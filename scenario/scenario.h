// A scenario: the one file that describes a run (cluster, workload, policy, seed), as a
// value type. Loading and validation live in scenario/load.h; the YAML keys are a public
// contract documented in docs/scenario.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/cluster.h"
#include "model/faults.h"
#include "model/arrivals.h"

namespace fulcrum {

struct HostGroup {
  std::string name;    // a host's name when count is 1, else a prefix: name-0, name-1, ...
                       // The loader always fills it in: "w" for the one group without a
                       // name, "w<i>" (i: its index) when several have none. Empty counts
                       // as "w".
  int count = 1;
  double speed = 1e9;  // flop/s per core
  int slots = 1;       // cores, each runs one task at a time
  double weight = 0;   // for weighted policies; 0: speed x slots
};

struct NetworkSpec {
  double latency = 1e-4;     // seconds, each host's link to the cluster
  double bandwidth = 1.25e9; // bytes/s
};

struct ClusterSpec {
  std::vector<HostGroup> groups;  // either groups...
  std::string platform;           // ...or a SimGrid platform XML file (absolute or relative to the scenario)
  std::string scheduler_host;     // platform only: the host that runs the scheduler (default: the first)
  NetworkSpec network;
  int queue_cap = -1;             // -1 unbounded local queues, 0 late binding, k: at most slots + k per worker
};

// A workload read from files: WfCommons workflows, an SWF trace, or fulcrum's JSON DAGs
// (see workload/loaders.h). Empty `type`: the synthetic workload is used.
struct TraceWorkload {
  std::string type;                 // "wfcommons", "swf" or "dag"
  std::vector<std::string> files;   // resolved paths
  double reference_speed = 1e9;     // flop/s of the machine the runtimes were measured on
  std::uint32_t count = 1;          // wfcommons, dag: instances submitted (cycling the files)
  double interval = 0;              // wfcommons, dag: seconds between instances
  // swf: a window of the trace and its scaling.
  std::uint64_t first_job = 0;
  std::uint64_t max_jobs = 0;       // 0: all
  double time_scale = 1.0;          // submit times x time_scale
  double runtime_scale = 1.0;
  std::uint32_t max_procs = 0;      // 0: no cap on a job's processors
};

// How `run --mode real` emulates the scenario on local processes.
struct RealSpec {
  std::string task = "sleep";  // synthetic tasks sleep, or "burn" a CPU, for flops / speed
  double time_scale = 1.0;     // wall seconds per scenario second (0.01: 100x faster)
};

// Failure detection and recovery settings (the core's, plus the sim's failover model).
struct RecoverySpec {
  double heartbeat_interval = 1.0;  // seconds between a worker's heartbeats
  double suspect_after = 3.0;       // silence before a worker is suspected (no new tasks)
  double dead_after = 6.0;          // silence before it is declared dead (its tasks move)
  std::uint32_t max_attempts = 3;   // dispatches before a failing task fails for good
  double retry_backoff = 1.0;       // seconds before a failed attempt is retried, doubling
  double task_timeout = 0;          // seconds a running attempt may take (0: none)
  std::uint32_t quarantine_after = 3;  // failures within quarantine_window quarantine a worker
  double quarantine_window = 60;
  double quarantine_for = 60;
  std::uint64_t backlog_alert = 0;  // alert when this many tasks wait centrally (0: never)
  double election_delay = 2.0;      // leader_kill: time until a standby leads
  double reconcile_grace = 2.0;     // after a failover: time workers have to claim tasks
};

// The autoscaler (core/autoscaler.h) and how drivers provision workers for it. Hosts
// beyond the first `initial` are standby: powered off in simulation, not started in real
// mode, until a scale-out boots them (in host order).
struct AutoscaleSpec {
  bool enabled = false;
  std::string metric = "utilisation";  // or "backlog"
  double target = 0.7;
  std::uint32_t min = 1;
  std::uint32_t max = 0;               // 0: every host
  double period = 5;
  double window = 30;
  double cooldown_out = 10;
  double cooldown_in = 60;
  double tolerance = 0.1;
  std::uint32_t scale_in_after = 3;
  double boot_delay = 20;              // seconds from power-on to the worker joining
  std::uint32_t initial = 0;           // 0: min
};

// Host power in simulation, for the SimGrid energy plugin (every host of the group form):
// watts when idle, with every core busy, and when off.
struct PowerSpec {
  bool given = false;
  double idle = 100;
  double busy = 200;
  double off = 5;
};

struct Scenario {
  std::string source = "<scenario>";  // the file it came from, for messages
  std::uint64_t seed = 1;
  ClusterSpec cluster;
  SyntheticWorkload workload;
  TraceWorkload trace;                // non-empty type: replaces `workload`
  std::string priority = "fifo";      // central-queue order: fifo, critical_path, random
  std::string policy = "round_robin";
  RealSpec real;
  RecoverySpec recovery;
  std::vector<FaultSpec> faults;
  AutoscaleSpec autoscale;
  PowerSpec power;
  // Energy is measured when the scenario gives power or autoscales.
  bool measures_energy() const { return power.given || autoscale.enabled; }

  // The number of hosts of the group form (0 with a platform file: its hosts are known
  // only once the simulator has read it).
  int total_hosts() const;
  // The group form's host names, group by group, in order (see host_name).
  std::vector<std::string> host_names() const;
};

// The name of host `index` (0-based) of `group`: the group's name when it has one host,
// else "name-index"; an empty name counts as "w". The loader refuses scenarios where two
// hosts would get the same name.
std::string host_name(const HostGroup& group, int index);

// The workers of the group form, in order: names from host_name, the group's name (or
// "w") as their group.
std::vector<WorkerSpec> worker_specs(const ClusterSpec& cluster);

}  // namespace fulcrum
