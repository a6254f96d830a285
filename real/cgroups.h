// Enforcing each task's resource request on a real-mode worker (issue 16): cgroups where
// the machine allows, rlimits otherwise.
//
// The Enforcer is chosen once, when the worker starts (Enforcer::create):
//  - cgroup_v2: the worker's own cgroup (from /proc/self/cgroup, under the cgroup2 mount of
//    /proc/self/mountinfo) offers the memory controller (and cpu, if it can) and lets it
//    enable them for its children (a delegated cgroup: systemd's Delegate=yes, a
//    container's own namespace). A per-worker group `fulcrum-PID-N` is made below it, and
//    per command task a child `tTASK-K` with cpu.max = cores x period and memory.max = the
//    request's memory (when > 0; swap off when the kernel lets us).
//  - cgroup_v1: the same under the v1 hierarchies of the memory controller (required) and
//    the cpu controller (used when writable): cpu.cfs_quota_us = cores x cfs_period_us,
//    memory.limit_in_bytes (and memsw when present).
//  - rlimit: neither is usable. A task asking for memory gets RLIMIT_AS = its memory, per
//    process (address space, not resident memory: generous to mmap-happy programs, strict
//    with runtimes reserving large heaps). CPU cannot be limited this way (RLIMIT_CPU
//    bounds CPU seconds, not cores): only the worker's LocalQueue keeps the sum of the
//    running tasks' cores within its own.
//  - none: nothing is enforced (--enforce none).
// `auto` tries them in that order and says in description() why it settled where it did;
// asking for a mode by name that the machine lacks is an Error. Nothing here ever aborts
// the worker: an unreadable /proc, a read-only /sys/fs/cgroup or a missing controller is a
// fallback, not a crash.
//
// A task's process joins its groups in the child, between fork and exec (Executor, through
// Confinement), so not a byte it allocates escapes them. Synthetic tasks (burn, sleep) run
// inside the worker and are not confined.
//
// When a task ends, finish() tells whether it ran out of memory (the group's oom_kill
// counter: memory.events in v2, memory.oom_control in v1, else memory.failcnt and a
// SIGKILL; under rlimits, a failed run whose output shows an allocation failure), marks
// its outcome with reason "oom" and a line saying so, SIGKILLs whatever is still in the
// group and removes it. A group whose processes are not gone yet is retried later and,
// at the latest, when the Enforcer is destroyed, which also removes the worker's group.
// Groups left by a worker that was SIGKILLed (its pid gone) are removed by the next
// Enforcer made in the same cgroup, when empty.
//
// Not thread-safe: the worker daemon calls it from its event loop.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "core/job_spec.h"
#include "core/resources.h"
#include "real/executor.h"

namespace fulcrum::real {

enum class EnforcementMode : std::uint8_t { kNone = 0, kRlimit = 1, kCgroupV1 = 2, kCgroupV2 = 3 };
inline constexpr EnforcementMode kEnforcementModes[] = {EnforcementMode::kNone, EnforcementMode::kRlimit,
                                                        EnforcementMode::kCgroupV1, EnforcementMode::kCgroupV2};
// "none", "rlimit", "cgroup_v1", "cgroup_v2": the metric's label and the log's word.
std::string_view enforcement_name(EnforcementMode mode);

// Where the process's cgroups are, as /proc says.
struct CgroupPaths {
  std::string mountinfo = "/proc/self/mountinfo";
  std::string self_cgroup = "/proc/self/cgroup";
};

struct CgroupLayout {
  std::string v2;        // the process's own cgroup v2 directory, "" if no cgroup2 mount
  std::string v2_mount;  // that mount's directory (limits are read up to it)
  // v1, by controller (cpu, memory, ...): the process's own directory and the mount's.
  std::map<std::string, std::string> v1;
  std::map<std::string, std::string> v1_mount;
};

// Pure: what /proc/self/mountinfo and /proc/self/cgroup say (tests feed them text).
CgroupLayout parse_cgroup_layout(std::string_view mountinfo, std::string_view self_cgroup);
// Reads them; an unreadable file is an empty layout.
CgroupLayout read_cgroup_layout(const CgroupPaths& paths = {});

// The tightest memory limit (bytes) of the process's cgroup and its ancestors, if any.
std::optional<double> cgroup_memory_limit(const CgroupLayout& layout);
// The tightest CPU quota (cores: quota / period) of the process's cgroup and ancestors.
std::optional<double> cgroup_cpu_limit(const CgroupLayout& layout);

class Enforcer {
 public:
  // `want`: auto | cgroup (v2 or v1) | cgroup_v2 | cgroup_v1 | rlimit | none.
  static Expected<std::unique_ptr<Enforcer>> create(std::string_view want, const CgroupPaths& paths = {});
  ~Enforcer();
  Enforcer(const Enforcer&) = delete;
  Enforcer& operator=(const Enforcer&) = delete;

  EnforcementMode mode() const { return mode_; }
  // One line for the worker's log: the mode, what it limits, where, and why not better.
  const std::string& description() const { return description_; }
  // The per-worker group(s), empty unless a cgroup mode.
  const std::vector<std::string>& worker_groups() const { return parents_; }

  // What a command task's process does before exec. An Error when its group could not be
  // made (the worker then fails the attempt rather than run it unconfined).
  // REQUIRES: `task` has no confinement not finished yet.
  Expected<Confinement> prepare(std::uint64_t task, const Resources& request);
  // The task's run ended (`outcome` its result) or was cancelled (nullptr): marks an
  // out-of-memory end (reason "oom", a line in the output), cleans the group up.
  // Returns whether it ran out of memory. A task never prepared is ignored.
  bool finish(std::uint64_t task, TaskOutcome* outcome);

 private:
  struct Group {
    std::vector<std::string> dirs;  // v2: one; v1: memory (first), cpu
    double memory = 0;              // its limit, bytes; 0: none
  };
  Enforcer() = default;
  bool out_of_memory(const Group& g, const TaskOutcome& outcome) const;
  void remove_later(std::string dir);
  void remove_leftovers(double wait_seconds);

  EnforcementMode mode_ = EnforcementMode::kNone;
  std::string description_;
  // v2: [the group]; v1: [memory's, cpu's] (cpu's absent when not writable).
  std::vector<std::string> parents_;
  bool v1_cpu_ = false;
  std::map<std::uint64_t, Group> groups_;  // by task, prepared and not finished
  std::map<std::uint64_t, double> rlimited_;  // rlimit mode: task -> its memory limit
  std::vector<std::string> leftovers_;     // groups to remove once their processes are gone
  std::uint64_t serial_ = 0;
};

}  // namespace fulcrum::real
