// What work is: the one description of a job and of its tasks, carried unchanged from a
// scenario, a trace or a client through the core, the journal, the wire, the simulator's
// records and Python.
//
// Each type's field list, `fields(v, x)`, is the one place its fields are named: every
// serialiser (the binary codec of the wire and the journal, JSON, the pybind module)
// walks it, so a new field is added to the struct and to its list, nowhere else. A
// visitor `v` offers `v.field(name, value)` and `v.enumeration(name, value, max)`.
//
// A field added after records were first written goes through `field_since(v, N, ...)`
// with the next schema number N (kSchema): a binary reader of an older record (an old
// journal) leaves it at its default, every other visitor sees a plain field. So adding a
// field is the struct, its list and kSchema, and old journals still read.
#pragma once

#include <cstdint>
#include <map>
#include <string_view>
#include <string>
#include <vector>

#include "core/expected.h"
#include "core/resources.h"

namespace fulcrum {

// What a worker does with a task. The simulator models every kind as `flops` of work.
enum class TaskKind : std::uint8_t {
  kCommand = 0,  // run `command` with /bin/sh -c
  kBurn = 1,     // synthetic: keep a CPU busy for flops / worker speed seconds
  kSleep = 2,    // synthetic: sleep for flops / worker speed seconds
};

// The schema of the field lists below, as written by this build; the journal and the
// wire record it (3: TaskSpec as one type; 4: resources and placement constraints;
// 5: run-time estimates and gangs; 6: tenants and priority classes).
inline constexpr std::uint8_t kSchema = 6;

// A field added in schema `since`: readers of older records keep its default.
template <class V, class T> void field_since(V& v, std::uint8_t since, std::string_view name, T& value) {
  if constexpr (requires { v.field_since(since, name, value); }) {
    v.field_since(since, name, value);
  } else {
    v.field(name, value);
  }
}
template <class V, class E> void enumeration_since(V& v, std::uint8_t since, std::string_view name, E& value, E max) {
  if constexpr (requires { v.enumeration_since(since, name, value, max); }) {
    v.enumeration_since(since, name, value, max);
  } else {
    v.enumeration(name, value, max);
  }
}

struct TaskSpec {
  double flops = 0;  // the task's size; for commands, the core's estimate of it
  std::vector<std::uint32_t> parents;  // indices into the job's task list, each < own index
  // DAG jobs only (empty otherwise), aligned with `parents`: the data each parent sends,
  // as bytes through the network or, when >= 0, as seconds between different hosts.
  std::vector<double> parent_bytes;
  std::vector<double> parent_comm;
  std::map<std::string, double> cost;  // seconds on the named host; empty: flops / speed
  double priority = 0;                 // higher goes first in the central queue
  TaskKind kind = TaskKind::kBurn;
  std::string command;  // kCommand only
  double timeout = 0;   // seconds a worker lets one attempt run, 0: none
  std::string name;     // the trace's name of the task, "" none
  // What it needs on the worker that runs it, all at once (one core by default).
  Resources request{.cores = 1};
  // Labels the worker must carry with these values; the key `zone` is the worker's zone.
  std::map<std::string, std::string> require;
  Spread spread = Spread::kNone;  // how the job's tasks prefer to spread
  // Seconds the submitter expects an attempt to run (an SWF job's requested time), what
  // backfilling reserves by; 0: unknown (the core then estimates flops / speed).
  double estimate = 0;

  bool operator==(const TaskSpec&) const = default;
};

template <class V> void fields(V& v, TaskSpec& t) {
  v.field("flops", t.flops);
  v.field("parents", t.parents);
  v.field("parent_bytes", t.parent_bytes);
  v.field("parent_comm", t.parent_comm);
  v.field("cost", t.cost);
  v.field("priority", t.priority);
  v.enumeration("kind", t.kind, TaskKind::kSleep);
  v.field("command", t.command);
  v.field("timeout", t.timeout);
  v.field("name", t.name);
  field_since(v, 4, "request", t.request);
  field_since(v, 4, "require", t.require);
  enumeration_since(v, 4, "spread", t.spread, Spread::kZone);
  field_since(v, 5, "estimate", t.estimate);
}

// Shorthands for the common shapes.
inline TaskSpec command_task(std::string command, double timeout = 0, std::vector<std::uint32_t> parents = {}) {
  TaskSpec t;
  t.kind = TaskKind::kCommand;
  t.command = std::move(command);
  t.timeout = timeout;
  t.parents = std::move(parents);
  return t;
}
inline TaskSpec synthetic_task(TaskKind kind, double flops, double timeout = 0, std::vector<std::uint32_t> parents = {}) {
  TaskSpec t;
  t.kind = kind;
  t.flops = flops;
  t.timeout = timeout;
  t.parents = std::move(parents);
  return t;
}

// REQUIRES (checked where a job enters: loaders, the daemon's Submit): each task's parents
// precede it, and parent_bytes / parent_comm are empty or as long as parents.
struct JobSpec {
  std::vector<TaskSpec> tasks;
  std::string name;  // the trace's name of the job, "" none
  // A rigid parallel job: its tasks start together, each where it fits, or none does;
  // one member's failure stops and requeues them all (docs/backfilling.md). No parents.
  bool gang = false;
  // Who the job belongs to (docs/fairness.md): "" is the default tenant. In real mode the
  // scheduler sets it from the client's identity, whatever the client sent.
  std::string tenant;
  // Orders work across tenants: a higher class is served first and may preempt a lower
  // one where the scenario allows it. 0 is the default class.
  std::int32_t priority_class = 0;

  bool operator==(const JobSpec&) const = default;
};

// Whether a job from outside (a client, a file) meets JobSpec's REQUIRES and holds only
// finite, non-negative sizes; the Error names the first offending task and field.
Expected<bool> check_job_spec(const JobSpec& job);

template <class V> void fields(V& v, JobSpec& j) {
  v.field("tasks", j.tasks);
  v.field("name", j.name);
  field_since(v, 5, "gang", j.gang);
  field_since(v, 6, "tenant", j.tenant);
  field_since(v, 6, "priority_class", j.priority_class);
}

// A task's outcome as a worker reported it.
struct TaskOutcome {
  std::int32_t exit_code = 0;  // -N: killed by signal N; 124: timed out (like timeout(1))
  std::string output;          // stdout and stderr interleaved, bounded (see kMaxOutputBytes)
  // Why a failed attempt failed, when the worker knows better than the exit code: "oom"
  // (killed or starved at its memory request), "unfit" (refused: the request can never
  // fit the worker), "unschedulable" (refused at submission: it fits no worker); ""
  // otherwise (docs/real/index.md).
  std::string reason;

  bool operator==(const TaskOutcome&) const = default;
};

template <class V> void fields(V& v, TaskOutcome& o) {
  v.field("exit_code", o.exit_code);
  v.field("output", o.output);
  field_since(v, 4, "reason", o.reason);
}

// Captured output beyond this is cut (its tail kept) so that a chatty task cannot flood
// the scheduler's memory, the journal or a frame.
inline constexpr std::size_t kMaxOutputBytes = 64 * 1024;

}  // namespace fulcrum
