// Workload loaders: read workloads from files into DagJob values (model/dag.h), the form the
// core, the policies and the drivers consume.
//
//   load_wfcommons  a WfCommons workflow instance (a real execution traced on Chameleon
//                   Cloud and elsewhere): one DagJob whose edges carry the bytes of the files
//                   passed from parent to child.
//   load_swf        a Standard Workload Format log (Parallel Workloads Archive): one DagJob
//                   without edges per trace job, arriving at the job's submit time.
//   load_dag_json   fulcrum's own JSON DAG format, for hand-written examples (textbook DAGs
//                   with per-host costs, small test cases).
//   load_alibaba    the Alibaba cluster-trace-v2017 batch task table: one DagJob without
//                   edges per job id, each task row's instances as tasks with its request.
//
// What each task asks for (cores, memory) comes beside the jobs, as TaskRequests aligned
// with each DagJob's tasks (the loaders that read it: SWF, WfCommons, Alibaba).
//
// Contract shared by the three loaders:
//   - They never throw and never abort on malformed input: every failure is an Error whose
//     message starts with the file's path and says where the problem is (a JSON path with the
//     task's id, or an SWF line number) and what is wrong, e.g.
//       x.json: workflow.tasks[3] (name "t4"): runtimeInSeconds: must be >= 0, got -2
//       trace.swf:17: field 4 (run time): not a number 'abc'
//       x.json: cycle: t1 -> t2 -> t1
//   - Input size is bounded: JSON files may be at most 256 MiB (after decompression), SWF
//     lines at most 1 MiB, and nesting at most 256 levels deep, so a hostile file cannot
//     exhaust memory or the stack.
//   - Files may be gzip-compressed (zlib reads plain files unchanged, so any path works).
//   - Every DagJob returned passes check_dag: tasks are non-empty, edges name existing tasks,
//     there are no self-loops, no duplicate edges and no cycles (the loaders check this
//     themselves so that the message can name the file and the tasks).
//
// Units: flops are floating-point operations, bytes are bytes, times are seconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/dag.h"
#include "core/expected.h"
#include "core/resources.h"

namespace fulcrum {

// What each task of a job asks for, aligned with its DagJob's tasks: cores and memory
// (bytes; 0: not given) as the file says.
using TaskRequests = std::vector<Resources>;

// Loads a WfCommons workflow instance, in schema 1.4 (one flat `workflow.tasks` list with
// runtimes, files and parents/children by task *name*) or schema 1.5 / WfFormat (the DAG in
// `workflow.specification`, the measurements in `workflow.execution`, joined by task id).
//
// - Task i's flops = its runtimeInSeconds x reference_speed. reference_speed (flop/s) is the
//   speed the machine the runtimes were measured on is *assumed* to have, default 1e9: the
//   instances record wall-clock runtimes, not work, so a simulated host of speed
//   reference_speed reproduces the measured runtime. (avgCPU, coreCount and the machines'
//   speedInMHz are ignored: they are not comparable across instances.)
// - The edges are the union of every task's `parents` and `children` lists (some files list
//   only one side), without duplicates. An edge parent -> child carries the sum of the sizes
//   of the files the parent writes (outputs) that the child reads (inputs), matched by file
//   id (1.5) or name (1.4); 0 bytes if they share no file.
// - Task names are the instances' task names. The job's name is the file's base name without
//   ".json"/".json.gz" (the instances' own `name` fields are not unique: "montage" and
//   "Montage"); submit = 0.
// - With `requests`, it is filled with each task's request: cores from `coreCount` (1.5,
//   in workflow.execution.tasks) or `cores` (1.4), default 1; memory from `memoryInBytes`
//   (both schemas), default 0 (not given). These are what the task *used* when it was
//   traced (the instances record no request), so they stand in for its request.
// Errors: not JSON, missing or mistyped fields, negative runtimes or sizes, duplicate task
// ids, unknown files, dangling parents/children, self-loops and cycles, cores <= 0,
// negative memory; reference_speed must be positive and finite.
Expected<DagJob> load_wfcommons(const std::string& path, double reference_speed = 1e9,
                                TaskRequests* requests = nullptr);

// What every job trace loader takes: the speed its times are measured at, the window of
// jobs to read, and how to scale time. Each loader says where its window counts from.
struct TraceWindow {
  // flop/s of the machine the trace's run times were measured on: flops = run time x this.
  double reference_speed = 1e9;
  std::uint64_t first_job = 0;  // jobs passed over
  std::uint64_t max_jobs = 0;   // jobs read after those (0: all the rest)
  double time_scale = 1.0;      // submit times x time_scale (< 1 compresses: more load); >= 0
  double runtime_scale = 1.0;   // run times x runtime_scale; > 0
};

// The first bad value of `window` as an error naming `path`, or "".
std::string check_window(const std::string& path, const TraceWindow& window);

// SWF's window is in trace order and *before* filtering: the first `first_job` job lines
// are passed over, then the next `max_jobs` job lines are read, and the unusable ones
// among them are skipped. Windows are thus stable whatever the filter does.
struct SwfOptions : TraceWindow {
  std::uint32_t max_procs = 0;  // cap each job's processor count at this (0: no cap)
  // Jobs are killed at their requested time: the estimate is the requested time as given
  // (not raised to the run time), and `limits` holds it.
  bool kill_at_estimate = false;
  // The SWF column each job's tenant is read from (12 user, 13 group, 15 queue, 16
  // partition); 0: none.
  int tenant_field = 0;
};

struct SwfTrace {
  std::vector<DagJob> jobs;          // kept jobs, by submit time (ties in trace order)
  // Aligned with jobs: each task asks for one core and its processor's requested memory
  // (field 10, kilobytes per processor, x 1024 bytes; -1 unknown: 0, not given).
  std::vector<TaskRequests> requests;
  // Aligned with jobs: the user's run-time estimate, seconds x runtime_scale (field 9,
  // requested time; the run time when unknown, and never less than the run time), and
  // the line the job was read from.
  std::vector<double> estimates;
  // Aligned with jobs when kill_at_estimate: the time limit of each task, seconds x
  // runtime_scale (the requested time; 0 when the job gave none, and is not killed).
  std::vector<double> limits;
  // Aligned with jobs when tenant_field: "user12" (the field's name and value; -1: "user?").
  std::vector<std::string> tenants;
  std::vector<std::uint64_t> lines;
  std::uint64_t skipped = 0;         // jobs in the window that were dropped (see load_swf)
  std::uint64_t max_procs_seen = 0;  // largest processor count of a kept job, before the cap
};

// Loads a Standard Workload Format trace (18 whitespace-separated numeric fields per job line;
// lines starting with ';' are header comments; blank lines are ignored; .gz is read through
// zlib). Each job in the window becomes one DagJob without edges:
// - A job on p processors becomes p tasks of run time x runtime_scale x reference_speed
//   flops each, one per processor; the caller makes them a gang (a rigid job, started
//   together) or, with `split`, independent tasks (workload/jobs.h).
// - p is field 5 (allocated processors); if that is unknown (-1), field 8 (requested
//   processors); then capped at max_procs if set.
// - Each task requests one core and the requested memory of one processor (field 10, in
//   kilobytes per processor as the SWF definition says, read as KiB: x 1024 bytes); -1
//   (unknown) requests none.
// - Jobs whose run time (field 4) is <= 0 or unknown (-1), whose p is <= 0 or unknown, or
//   whose submit time (field 2) is unknown (< 0) are skipped and counted in `skipped`. The
//   status (field 11) is ignored: failed and cancelled jobs still held their processors for
//   their run time, so they are real load.
// - submit = (field 2 - the earliest kept submit time) x time_scale: the first kept job
//   arrives at 0. Jobs are named "job<field 1>", their tasks "job<field 1>.<k>".
// Lines after the window are not read (so that a small window on a large .gz is fast) and
// therefore not checked.
// Errors (with the line number): a job line without exactly 18 fields, a field that is not a
// finite number, a fractional processor count, more than 2^24 processors in one job without a
// max_procs cap, a requested memory below -1; a trace without job lines, a window past the
// end of the trace or a window in which every job was skipped; unreadable, truncated or
// corrupt gzip; bad options.
Expected<SwfTrace> load_swf(const std::string& path, const SwfOptions& options = {});

// Alibaba's window is over the jobs by submit time (ties in order of first appearance),
// after the unusable rows are dropped. flops = duration x runtime_scale x reference_speed.
struct AlibabaOptions : TraceWindow {
  std::uint32_t max_instances = 0;  // cap each task row's instances at this (0: no cap)
  // Bytes of the machines plan_mem is normalised to (a machine is 1): memory = plan_mem x
  // this. The trace does not say; 64 GiB by default. > 0.
  double machine_memory = 68719476736.0;
};

struct AlibabaTrace {
  std::vector<DagJob> jobs;            // kept jobs of the window, by submit time
  std::vector<TaskRequests> requests;  // aligned with jobs
  std::uint64_t rows = 0;              // task rows read
  std::uint64_t skipped = 0;           // rows dropped (see load_alibaba)
};

// Loads the Alibaba cluster-trace-v2017 batch task table (batch_task.csv, plain or .gz):
// comma-separated rows of create time, modify (end) time, job id, task id, instance count,
// status, plan_cpu, plan_mem; a first line that is not a row (the header some copies carry)
// is passed over.
// - A row is used when its status is Terminated or Failed (the tasks that ran and ended),
//   its end time is after its create time, it has instances, and plan_cpu and plan_mem are
//   given and positive; other rows (Waiting and Running tasks, whose end or plan is
//   missing) are skipped and counted in `skipped`.
// - The used rows of one job id form one DagJob named "job<id>", without edges (the v2017
//   table has none), submitted at the earliest create time of its rows; submit times are
//   relative to the first kept job's, x time_scale.
// - A row of n instances (capped at max_instances) becomes n tasks named "<task id>.<k>",
//   each of (end - create) x runtime_scale x reference_speed flops, asking for plan_cpu /
//   100 cores (plan_cpu 100 is one core) and plan_mem x machine_memory bytes (rounded up).
//   The table records the task's span, not each instance's run time: every instance is
//   taken to run for the whole span, an over-estimate when instances ran in waves.
// Errors (with the line number): a row without exactly 8 fields, a time, id or count that
// is not a whole number, an unknown status, a plan that is neither empty nor a number >= 0;
// a table without rows, a window past the last job or with no usable row; more than 2^26
// tasks (set max_jobs or max_instances); unreadable or corrupt gzip; bad options.
Expected<AlibabaTrace> load_alibaba(const std::string& path, const AlibabaOptions& options = {});

// Loads fulcrum's own JSON DAG format:
//   {"name": "diamond", "submit": 0,
//    "tasks": [{"id": "t1", "cost": {"p1": 14, "p2": 16}}, {"id": "t2", "flops": 2e9}, ...],
//    "edges": [{"from": "t1", "to": "t2", "comm": 18}, {"from": "t1", "to": "t3", "bytes": 1e6}]}
// - "tasks" (required, non-empty): each has a unique non-empty "id" (the task's name) and
//   exactly one of "flops" (>= 0, run through the modelled CPU) or "cost" (a non-empty object
//   of seconds >= 0 per host name, for unrelated machines).
// - "edges" (optional): "from"/"to" name task ids; at most one of "bytes" (>= 0, through the
//   modelled network) or "comm" (seconds >= 0 between different hosts); neither: 0 bytes.
// - "name" (optional, default: the file's base name without ".json"), "submit" (optional
//   seconds >= 0, default 0).
// Unknown keys are errors (a misspelt "flop" must not silently become a free task), as are
// duplicate ids, dangling edges, self-loops, duplicate edges and cycles.
Expected<DagJob> load_dag_json(const std::string& path);

// ---------------------------------------------------------------------------------------------
// Internals shared by the loaders' .cc files (implemented in dag_json.cc). Not for callers.
namespace workload_detail {

// Thrown by the helpers below, caught at each loader's boundary and turned into an Error:
// it keeps the deeply nested validation code free of error plumbing.
struct LoadError {
  std::string message;
};
[[noreturn]] void fail(std::string message);

inline constexpr std::size_t kMaxJsonBytes = std::size_t{256} << 20;
inline constexpr int kMaxJsonDepth = 256;

// `s` in double quotes, control and non-ASCII bytes escaped, cut to 80 characters: safe to
// put garbage input into a message.
std::string quote(std::string_view s);
// A number as %.17g would, minus the noise: integers print without a fraction.
std::string format_number(double x);
// The last path component; with strip_json, without a trailing ".json" or ".json.gz".
std::string base_name(const std::string& path, bool strip_json);

// The whole file, decompressed if it is gzip; an Error if it cannot be opened or read, is
// corrupt or longer than max_bytes.
Expected<std::string> read_file(const std::string& path, std::size_t max_bytes);
// Parses `text` (read from `path`) as JSON; throws LoadError naming path, line and column.
nlohmann::json parse_json(const std::string& path, const std::string& text);

// Checked access to JSON values. `where` is the location of the value itself, e.g.
// `x.json: tasks[3] (id "t4"): flops`; the LoadError reads `<where>: <problem>`.
std::string describe(const nlohmann::json& value);  // for "got ...": -2, "abc", an array...
const nlohmann::json& as_object(const nlohmann::json& value, const std::string& where);
const nlohmann::json& as_array(const nlohmann::json& value, const std::string& where);
const std::string& as_string(const nlohmann::json& value, const std::string& where);
double as_number(const nlohmann::json& value, const std::string& where);  // finite
double as_non_negative(const nlohmann::json& value, const std::string& where);
// The member `key` of `object` (which `where` locates), or null if absent.
const nlohmann::json* member(const nlohmann::json& object, std::string_view key);
// The member `key`, or a LoadError `<where>: <key>: missing`.
const nlohmann::json& required(const nlohmann::json& object, std::string_view key, const std::string& where);

// One cycle of `job`'s edges as "a -> b -> a" (task names), or nullopt if it is acyclic.
// REQUIRES: every edge names existing tasks.


}  // namespace workload_detail
}  // namespace fulcrum
