// Jobs as DAGs: the value types the workload loaders produce and the policies
// and the drivers consume, and JobGraph, the Boost.Graph view used to check and analyse
// them.
//
// A DagJob's tasks may be listed in any order; edges name them by index. check() refuses
// dangling edges, self-loops, duplicate edges and cycles. A task's cost is either flops
// (run through the modelled CPU: seconds = flops / speed) or explicit seconds per host name
// (textbook examples with unrelated machines); an edge's data is bytes (through the
// modelled network, free between tasks on the same host) or explicit seconds `comm`
// (between different hosts; 0 on the same host).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/expected.h"

namespace fulcrum {

struct DagTask {
  std::string name;
  double flops = 0;
  std::map<std::string, double> cost;  // seconds on the named host; empty: use flops
};

struct DagEdge {
  std::uint32_t from = 0;  // parent index
  std::uint32_t to = 0;    // child index
  double bytes = 0;
  double comm = -1;        // >= 0: seconds between different hosts, instead of bytes
};

struct DagJob {
  std::string name;
  double submit = 0;       // seconds
  std::vector<DagTask> tasks;
  std::vector<DagEdge> edges;
};

// Checks the structure; the Error names the job and the offending task(s) by name.
Expected<bool> check_dag(const DagJob& job);

// One cycle of the job, as "a -> b -> a", or nullopt if it has none.
// REQUIRES: every edge names two tasks of the job.
std::optional<std::string> find_cycle(const DagJob& job);

// A checked DAG as a Boost.Graph, with the analyses planners need. REQUIRES: check_dag ok.
class JobGraph {
 public:
  explicit JobGraph(const DagJob& job);
  std::size_t size() const { return parents_.size(); }
  // A topological order of task indices (parents before children; ties by index).
  const std::vector<std::uint32_t>& topological_order() const { return order_; }
  const std::vector<std::vector<std::uint32_t>>& parents() const { return parents_; }
  const std::vector<std::vector<std::uint32_t>>& children() const { return children_; }
  // Edge index of (parent, child), for its data. REQUIRES: the edge exists.
  std::uint32_t edge(std::uint32_t parent, std::uint32_t child) const;
  // Longest path through the DAG where task i takes task_time[i] and edge e adds
  // edge_time[e]: a lower bound on the makespan when those are the fastest times.
  double critical_path(const std::vector<double>& task_time, const std::vector<double>& edge_time) const;

 private:
  std::vector<std::uint32_t> order_;
  std::vector<std::vector<std::uint32_t>> parents_, children_;
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> edge_index_;
};

}  // namespace fulcrum
