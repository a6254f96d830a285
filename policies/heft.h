// HEFT: Heterogeneous Earliest Finish Time (Topcuoglu, Hariri, Wu, "Performance-effective
// and low-complexity task scheduling for heterogeneous computing", IEEE TPDS 13(3), 2002),
// as a pure, deterministic planner: the same job, hosts, network and `now` always give the
// same plan, bit for bit, so plans can be compared across runs and policies.
//
// Contract of plan_heft(job, hosts, network, now):
//  * REQUIRES: the DAG is valid (check_dag ok: acyclic, edges in range, no duplicates) and
//    hosts is non-empty, every host with slots >= 1 and speed > 0. Tasks may be listed in any
//    order.
//  * Execution time of task i on host h: task.cost.at(h.name) if the task has explicit
//    costs, else flops / h.speed. A task whose explicit costs lack a host cannot run there
//    (infinite cost); if it names none of the hosts, it falls back to flops / speed.
//  * Communication time of edge e between different hosts: comm if >= 0, else
//    latency + bytes / bandwidth; 0 between two slots of the same host.
//  * Upward rank: rank(i) = w̄(i) + max over children j of (c̄(i,j) + rank(j)), where w̄ is
//    the mean execution time over the hosts the task can run on (each host once, not per
//    slot) and c̄ is comm if >= 0, else latency + bytes / bandwidth. Each rank is rounded to
//    40 significant bits as it is computed, so that ranks equal in exact arithmetic (the
//    paper's example has two 80s reached through different thirds) compare equal.
//  * Tasks are planned in `order`: decreasing rank, ties to the lower index. A task is only
//    taken once its parents are ordered, which matters only when a task's rank ties with its
//    child's (zero time on the task and the edge); otherwise this is the plain sort.
//  * Each task goes to the (host, slot) with the earliest finish time, with insertion: it
//    may fill an idle gap between tasks already planned on a slot if the gap holds it after
//    its data-ready time. Ties on finish time: the lower host index, then the lower slot.
//  * No task starts before `now` nor, on a host, before that host's `available`. The job's
//    own `submit` is not consulted: the caller folds it into `now`.
//  * makespan is the latest finish (0 for an empty job); it is absolute time, not relative
//    to `now`.
//
// Cost: O(E + T·hosts + T·log T) for the ranks and order, plus, per task, O(parents + total slots ×
// (log k + g)) where k is the number of tasks already on a slot and g the gaps scanned past
// the data-ready time (few in practice, since the scan starts at the data-ready time).
//
// The planner computes its own topological order and ranks rather than using JobGraph, so
// it depends only on the value types of model/dag.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/dag.h"

namespace fulcrum {

struct HeftHost {            // a processor as HEFT sees it
  std::string name;
  double speed = 1e9;        // flop/s (per slot)
  int slots = 1;             // each slot is a separate processor timeline
  double available = 0;      // earliest time it is free (existing load), seconds
};

struct HeftNetwork {         // data time between different hosts: latency + bytes / bandwidth
  double latency = 0;
  double bandwidth = 1.25e9;
};

struct HeftPlan {
  std::vector<std::uint32_t> host;    // per task: index into hosts
  std::vector<std::uint32_t> slot;    // per task: slot on that host
  std::vector<double> start, finish;  // planned times
  std::vector<double> rank;           // upward rank per task
  std::vector<std::uint32_t> order;   // tasks by decreasing rank (ties: lower index first)
  double makespan = 0;
};

HeftPlan plan_heft(const DagJob& job, const std::vector<HeftHost>& hosts, const HeftNetwork& network,
                   double now = 0);

}  // namespace fulcrum
