#include "model/dag.h"

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <cassert>
#include <cmath>
#include <functional>
#include <queue>
#include <set>

namespace fulcrum {
namespace {

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS>;

std::string task_name(const DagJob& job, std::uint32_t i) {
  return job.tasks[i].name.empty() ? "#" + std::to_string(i) : job.tasks[i].name;
}

}  // namespace

Expected<bool> check_dag(const DagJob& job) {
  const std::string where = job.name.empty() ? "job" : job.name;
  const auto n = static_cast<std::uint32_t>(job.tasks.size());
  if (n == 0) return Error{where + ": a job needs at least one task"};
  std::set<std::pair<std::uint32_t, std::uint32_t>> seen;
  for (const DagEdge& e : job.edges) {
    if (e.from >= n || e.to >= n) {
      return Error{where + ": edge " + std::to_string(e.from) + " -> " + std::to_string(e.to) + " names no task (" +
                   std::to_string(n) + " tasks)"};
    }
    if (e.from == e.to) return Error{where + ": task " + task_name(job, e.from) + " depends on itself"};
    if (!seen.insert({e.from, e.to}).second) {
      return Error{where + ": edge " + task_name(job, e.from) + " -> " + task_name(job, e.to) + " given twice"};
    }
    if (e.bytes < 0) return Error{where + ": edge " + task_name(job, e.from) + " -> " + task_name(job, e.to) + ": negative bytes"};
  }
  for (std::uint32_t i = 0; i < n; ++i) {
    const DagTask& t = job.tasks[i];
    if (!(t.flops >= 0)) return Error{where + ": task " + task_name(job, i) + ": flops must be >= 0"};
    for (const auto& [host, seconds] : t.cost) {
      if (!(seconds >= 0)) return Error{where + ": task " + task_name(job, i) + ": cost on " + host + " must be >= 0"};
    }
  }
  if (auto cycle = find_cycle(job)) return Error{where + ": cycle: " + *cycle};
  return true;
}

std::optional<std::string> find_cycle(const DagJob& job) {
  // Kahn's algorithm: whatever it cannot order lies on or below a cycle.
  const std::size_t n = job.tasks.size();
  std::vector<std::uint32_t> indegree(n, 0);
  std::vector<std::vector<std::uint32_t>> children(n), parents(n);
  for (const DagEdge& e : job.edges) {
    ++indegree[e.to];
    children[e.from].push_back(e.to);
    parents[e.to].push_back(e.from);
  }
  std::queue<std::uint32_t> ready;
  for (std::uint32_t i = 0; i < n; ++i) {
    if (indegree[i] == 0) ready.push(i);
  }
  std::size_t ordered = 0;
  while (!ready.empty()) {
    const std::uint32_t t = ready.front();
    ready.pop();
    ++ordered;
    for (std::uint32_t c : children[t]) {
      if (--indegree[c] == 0) ready.push(c);
    }
  }
  if (ordered == n) return std::nullopt;
  // Every unordered task has an unordered parent, so walking up from one must revisit a task;
  // the walk from that task's first visit is a cycle (found child-to-parent, printed forward).
  std::uint32_t t = 0;
  while (indegree[t] == 0) ++t;
  std::vector<std::uint32_t> walk;
  std::vector<std::int64_t> seen_at(n, -1);
  while (seen_at[t] < 0) {
    seen_at[t] = static_cast<std::int64_t>(walk.size());
    walk.push_back(t);
    for (std::uint32_t p : parents[t]) {
      if (indegree[p] > 0) {
        t = p;
        break;
      }
    }
  }
  std::string cycle = task_name(job, t);
  for (std::size_t k = walk.size(); k-- > static_cast<std::size_t>(seen_at[t]);) {
    cycle += " -> " + task_name(job, walk[k]);
  }
  return cycle;
}

JobGraph::JobGraph(const DagJob& job) : parents_(job.tasks.size()), children_(job.tasks.size()) {
  Graph g(job.tasks.size());
  for (std::uint32_t e = 0; e < job.edges.size(); ++e) {
    const DagEdge& edge = job.edges[e];
    boost::add_edge(edge.from, edge.to, g);
    parents_[edge.to].push_back(edge.from);
    children_[edge.from].push_back(edge.to);
    edge_index_[{edge.from, edge.to}] = e;
  }
  // Kahn's algorithm over the Boost graph, smallest ready index first: a job listed in a
  // valid order keeps it, so task ids follow the file.
  std::vector<std::size_t> indegree(job.tasks.size());
  std::priority_queue<std::uint32_t, std::vector<std::uint32_t>, std::greater<>> ready;
  for (std::uint32_t v = 0; v < job.tasks.size(); ++v) {
    indegree[v] = boost::in_degree(v, g);
    if (indegree[v] == 0) ready.push(v);
  }
  while (!ready.empty()) {
    const std::uint32_t v = ready.top();
    ready.pop();
    order_.push_back(v);
    for (auto [e, end] = boost::out_edges(v, g); e != end; ++e) {
      const auto child = static_cast<std::uint32_t>(boost::target(*e, g));
      if (--indegree[child] == 0) ready.push(child);
    }
  }
}

std::uint32_t JobGraph::edge(std::uint32_t parent, std::uint32_t child) const {
  return edge_index_.at({parent, child});
}

double JobGraph::critical_path(const std::vector<double>& task_time, const std::vector<double>& edge_time) const {
  std::vector<double> finish(size(), 0);
  double longest = 0;
  for (std::uint32_t t : order_) {
    double ready = 0;
    for (std::uint32_t p : parents_[t]) ready = std::max(ready, finish[p] + edge_time[edge(p, t)]);
    finish[t] = ready + task_time[t];
    longest = std::max(longest, finish[t]);
  }
  return longest;
}

}  // namespace fulcrum
