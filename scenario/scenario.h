// A scenario: the one file that describes a run (cluster, workload, policy, seed), as a
// value type. Loading and validation live in scenario/load.h; the YAML keys are a public
// contract documented in docs/scenario.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/cluster.h"
#include "core/expected.h"
#include "core/random.h"
#include "core/resources.h"
#include "core/tenants.h"
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
  // What each host offers beyond its cores: memory (bytes; 0: not limited), GPUs and other
  // named resources. Its `cores` stays 0: the cores are `slots`.
  Resources resources;
  std::map<std::string, std::string> labels;  // what tasks' `require` matches
  std::string zone;                           // "" none
};

// A zone of the cluster (`cluster.zones`): the link that joins its hosts to the other
// zones. Hosts are in a zone by their group's `zone:`.
struct ZoneSpec {
  std::string name;
  double latency = 0.01;       // seconds
  double bandwidth = 1.25e8;   // bytes/s (1 Gbit/s)
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
  // Declared zones, in the file's order (`cluster.zones`). When some are declared, every
  // host group's zone is one of them; when none are, host groups may still name zones.
  std::vector<ZoneSpec> zones;

  // Every zone: the declared ones, then those only host groups name, in order of first
  // mention. Empty with a platform file (its zones are known to the simulator only).
  std::vector<std::string> zone_names() const;
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
  bool split = false;               // each processor an independent task, not a rigid job
  bool kill_at_estimate = false;    // a job is killed at its requested time (field 9)
  // alibaba: the window and scaling above (first_job, max_jobs, time_scale, runtime_scale),
  // and these.
  std::uint32_t max_instances = 0;  // 0: no cap on a task's instances
  double machine_memory = 68719476736.0;  // bytes of one machine: plan_mem x this (64 GiB)
  // Every task of the file's jobs: labels its worker must carry, and how a job's tasks spread.
  std::map<std::string, std::string> require;
  Spread spread = Spread::kNone;
  // Every job's tenant and priority class; swf: `tenants_from` names the column a job's
  // tenant is read from instead (user, group, queue or partition: tenant "user12").
  std::string tenant;
  std::int32_t priority_class = 0;
  std::string tenants_from;
};

// A class of synthetic tasks (`workload.classes`, or the workload's own resources, require
// and spread as one class): each arrival is of one class, drawn by share.
struct TaskClass {
  double share = 1;
  std::optional<SizeDistribution> size;  // flops; none: the workload's `size`
  // Requested amounts by dimension ("cores", "memory" in bytes, "gpus", or another
  // resource's name), each a distribution (kConstant for a constant). No "cores": 1 core.
  std::map<std::string, SizeDistribution> resources;
  std::map<std::string, std::string> require;  // the key "zone": the worker's zone
  Spread spread = Spread::kNone;
  std::string tenant;               // its jobs' tenant ("" the default)
  std::int32_t priority_class = 0;  // its jobs' priority class
};

// Draws each synthetic arrival's class, size and request from the scenario's seed, on a
// stream of its own (the arrivals and sizes ArrivalStream draws do not change).
class TaskClassStream {
 public:
  // An empty `classes` gives every task the default: one core, no constraints. `width`:
  // tasks per job (rounded, at least 1), drawn on a stream of its own; none: one.
  TaskClassStream(std::vector<TaskClass> classes, std::uint64_t seed, std::optional<SizeDistribution> width = {});
  // The core's task for the next arrival (call once per arrival, in order): a kBurn task
  // of the class's size (or the arrival's flops), request, require and spread.
  TaskSpec next(const Arrival& arrival);
  // The job of the next arrival: next()'s task, `width` times over as a gang.
  JobSpec next_job(const Arrival& arrival);

 private:
  std::vector<TaskClass> classes_;
  std::vector<double> cumulative_;  // shares, summed
  Rng rng_;
  std::optional<SizeDistribution> width_;
  Rng width_rng_;
  std::size_t last_ = 0;  // the class next() drew
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

// The top-level `discipline:` spec (docs/backfilling.md): fifo (each task dispatched as
// the queue, `queue: strict|skip_ahead`, and the policy decide), fcfs (strict arrival
// order, late binding), easy or conservative backfilling; with order fcfs|sjf and
// estimates user|exact.
struct DisciplineSpec {
  std::string kind = "fifo";
  std::string order = "fcfs";
  std::string estimates = "user";
  std::string spec = "fifo";  // as given, for records
  bool backfills() const { return kind == "easy" || kind == "conservative"; }
  bool fair() const { return kind == "drf" || kind == "fair"; }
};

// The top-level `preemption:` (docs/fairness.md): given, it is on (unless enabled: false).
struct PreemptionSpec {
  bool enabled = false;
  double grace = 0;                  // seconds a victim runs on before it is stopped
  std::string victims = "requeue";   // requeue or fail
};

struct Scenario {
  std::string source = "<scenario>";  // the file it came from, for messages
  std::uint64_t seed = 1;
  ClusterSpec cluster;
  SyntheticWorkload workload;
  TraceWorkload trace;                // non-empty type: replaces `workload`
  std::string priority = "fifo";      // central-queue order: fifo, critical_path, random
  std::string queue = "strict";       // queue discipline: strict or skip_ahead
  std::vector<TaskClass> classes;     // poisson workloads: task classes (empty: one core each)
  std::optional<SizeDistribution> width;  // poisson workloads: tasks per job, started as a gang
  DisciplineSpec discipline;
  std::vector<TenantSpec> tenants;   // declared tenants (docs/fairness.md)
  PreemptionSpec preemption;
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
// "w") as their group, and the group's resources, labels and zone.
std::vector<WorkerSpec> worker_specs(const ClusterSpec& cluster);

// A number of bytes as scenarios write memory: plain bytes (`1073741824`, `1e9`) or a
// number and a unit, Kubernetes' way: decimal k/K, M, G, T, P, E (10^3 ... 10^18) and
// binary Ki, Mi, Gi, Ti, Pi, Ei (2^10 ... 2^60), each optionally followed by B (`4G`,
// `4GB`, `1.5GB`, `512Mi`, `512MiB`, `64KiB`); `B` alone is bytes. One space may separate
// the number and the unit. Units are case-sensitive (`m` would be milli in Kubernetes, so
// `512m` is refused). Fractions of a byte are rounded up. The Error says what is wrong.
Expected<double> parse_bytes(std::string_view text);

}  // namespace fulcrum
