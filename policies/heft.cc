// HEFT planner; the contract is in heft.h.
//
// Speed: the naive planner costs O(tasks × slots × planned tasks per slot). Here
//  * each slot keeps its planned intervals sorted (a vector; they never overlap, so their
//    finishes are sorted too), and the gap scan starts, by binary search, at the first
//    interval still running at the data-ready time: gaps that close before the task could
//    start are never looked at;
//  * the data-ready time on every host comes from one pass over the parents: a host that
//    holds no parent sees the latest arrival over all parents, and a host that holds some
//    sees its own parents' finishes and the latest arrival from the other hosts (kept as the
//    best two per-host arrivals, so a join with many parents stays linear);
//  * a host is skipped when even an immediate start at its data-ready time could not beat
//    the best finish so far (ties go to the lower host, which is the one already held),
//    and a host's slot scan stops at a slot that can start the task right away.
#include "policies/heft.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <map>
#include <queue>
#include <utility>

#include "core/upward_rank.h"

namespace fulcrum {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Interval {
  double start, finish;
};

// Edges grouped by one endpoint (compressed sparse rows): the edges of task i are
// edge[first[i] .. first[i + 1]).
struct Adjacency {
  std::vector<std::uint32_t> first, edge;
};

Adjacency group_edges(const DagJob& job, bool by_child) {
  const std::size_t n = job.tasks.size();
  Adjacency a;
  a.first.assign(n + 1, 0);
  for (const DagEdge& e : job.edges) ++a.first[(by_child ? e.to : e.from) + 1];
  for (std::size_t i = 0; i < n; ++i) a.first[i + 1] += a.first[i];
  a.edge.resize(job.edges.size());
  std::vector<std::uint32_t> fill(a.first.begin(), a.first.end() - 1);
  for (std::uint32_t e = 0; e < job.edges.size(); ++e) {
    const DagEdge& d = job.edges[e];
    a.edge[fill[by_child ? d.to : d.from]++] = e;
  }
  return a;
}

// Fills exec[h] with the execution time of `task` on every host (kInf: cannot run there).
// Host names are looked up once per cost entry, not once per host, so a task with a few
// explicit costs on a large platform costs O(hosts) for the fill and little else.
class ExecTimes {
 public:
  explicit ExecTimes(const std::vector<HeftHost>& hosts) : hosts_(hosts) {
    for (std::uint32_t h = 0; h < hosts.size(); ++h) by_name_[hosts[h].name].push_back(h);
  }

  void fill(const DagTask& task, std::vector<double>& exec) const {
    exec.resize(hosts_.size());
    if (!task.cost.empty()) {
      std::fill(exec.begin(), exec.end(), kInf);
      bool any = false;
      for (const auto& [name, seconds] : task.cost) {
        auto it = by_name_.find(name);
        if (it == by_name_.end()) continue;
        for (std::uint32_t h : it->second) exec[h] = seconds;
        any = true;
      }
      if (any) return;
      // Costs for none of these hosts: the task's flops are the only usable description.
    }
    for (std::size_t h = 0; h < hosts_.size(); ++h) exec[h] = task.flops / hosts_[h].speed;
  }

 private:
  const std::vector<HeftHost>& hosts_;
  std::map<std::string, std::vector<std::uint32_t>> by_name_;  // names may repeat
};

// Earliest start >= ready of a task lasting `duration` on a slot whose planned intervals
// are `planned` (sorted, non-overlapping): the first gap that holds it, else after the last.
double earliest_start(const std::vector<Interval>& planned, double ready, double duration) {
  // Intervals over by `ready` cannot constrain the task; finishes are sorted, so skip them
  // all at once.
  auto it = std::partition_point(planned.begin(), planned.end(),
                                 [ready](const Interval& iv) { return iv.finish <= ready; });
  double t = ready;
  for (; it != planned.end(); ++it) {
    if (t + duration <= it->start) return t;
    t = std::max(t, it->finish);
  }
  return t;
}

void insert_interval(std::vector<Interval>& planned, Interval iv) {
  auto pos = std::upper_bound(planned.begin(), planned.end(), iv, [](const Interval& a, const Interval& b) {
    return a.start < b.start || (a.start == b.start && a.finish < b.finish);
  });
  planned.insert(pos, iv);
}

}  // namespace

HeftPlan plan_heft(const DagJob& job, const std::vector<HeftHost>& hosts, const HeftNetwork& network,
                   double now) {
  assert(!hosts.empty());
  const std::size_t n = job.tasks.size();
  const std::size_t num_hosts = hosts.size();
  HeftPlan plan;
  plan.host.assign(n, 0);
  plan.slot.assign(n, 0);
  plan.start.assign(n, 0);
  plan.finish.assign(n, 0);
  plan.rank.assign(n, 0);
  plan.order.reserve(n);
  if (n == 0) return plan;

  const Adjacency in = group_edges(job, /*by_child=*/true);
  const Adjacency out = group_edges(job, /*by_child=*/false);

  // The time an edge's data takes between two different hosts; also its mean, since every
  // pair of different hosts sees the same network.
  std::vector<double> comm(job.edges.size());
  for (std::size_t e = 0; e < job.edges.size(); ++e) {
    const DagEdge& d = job.edges[e];
    comm[e] = d.comm >= 0 ? d.comm : network.latency + d.bytes / network.bandwidth;
  }

  // Topological order (Kahn, FIFO): only needed to number parents before children for ranks.
  std::vector<std::uint32_t> pending(n);
  std::vector<std::uint32_t> topo;
  topo.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    pending[i] = in.first[i + 1] - in.first[i];
    if (pending[i] == 0) topo.push_back(i);
  }
  for (std::size_t k = 0; k < topo.size(); ++k) {
    const std::uint32_t i = topo[k];
    for (std::uint32_t j = out.first[i]; j < out.first[i + 1]; ++j)
      if (--pending[job.edges[out.edge[j]].to] == 0) topo.push_back(job.edges[out.edge[j]].to);
  }
  assert(topo.size() == n && "plan_heft: the DAG has a cycle");

  // Upward ranks (model/dag.h) with the mean execution time over the hosts each task can run
  // on, computed over the tasks renumbered in topological order. Ranks are snapped to 40
  // significant bits: ranks that tie in exact arithmetic can differ in the last bits when
  // computed through different sums (the paper's n3 and n4: 43/3 + 23 + 42.667 and
  // 38/3 + 23 + 44.333, both 80), and snapping makes them the same double, so "ties: lower
  // index first" applies as the reader of the DAG expects.
  const ExecTimes exec_times(hosts);
  std::vector<double> exec;
  {
    std::vector<std::uint32_t> position(n);
    for (std::uint32_t k = 0; k < n; ++k) position[topo[k]] = k;
    std::vector<RankTask> rank_tasks(n);
    for (std::uint32_t k = 0; k < n; ++k) {
      const std::uint32_t i = topo[k];
      exec_times.fill(job.tasks[i], exec);
      double sum = 0;
      std::size_t usable = 0;
      for (double x : exec)
        if (x != kInf) sum += x, ++usable;
      RankTask& t = rank_tasks[k];
      t.time = sum / static_cast<double>(usable);
      t.parents.reserve(in.first[i + 1] - in.first[i]);
      t.parent_comm.reserve(in.first[i + 1] - in.first[i]);
      for (std::uint32_t j = in.first[i]; j < in.first[i + 1]; ++j) {
        const std::uint32_t e = in.edge[j];
        t.parents.push_back(position[job.edges[e].from]);
        t.parent_comm.push_back(comm[e]);
      }
    }
    const std::vector<double> rank = upward_rank(rank_tasks, /*snap_ties=*/true);
    for (std::uint32_t k = 0; k < n; ++k) plan.rank[topo[k]] = rank[k];
  }

  // Priority order: decreasing rank, ties to the lower index, among tasks whose parents are
  // already ordered. When ranks strictly decrease along edges (any positive time on a task
  // or edge) the highest-ranked remaining task is always ready, so this is the plain sort;
  // the readiness rule keeps the order topological when a zero-time task ties its child.
  auto lower_priority = [&plan](std::uint32_t a, std::uint32_t b) {
    return plan.rank[a] < plan.rank[b] || (plan.rank[a] == plan.rank[b] && a > b);
  };
  std::priority_queue<std::uint32_t, std::vector<std::uint32_t>, decltype(lower_priority)> ready(lower_priority);
  for (std::uint32_t i = 0; i < n; ++i) {
    pending[i] = in.first[i + 1] - in.first[i];
    if (pending[i] == 0) ready.push(i);
  }
  while (!ready.empty()) {
    const std::uint32_t i = ready.top();
    ready.pop();
    plan.order.push_back(i);
    for (std::uint32_t j = out.first[i]; j < out.first[i + 1]; ++j)
      if (--pending[job.edges[out.edge[j]].to] == 0) ready.push(job.edges[out.edge[j]].to);
  }

  // Slot timelines, host by host: host h owns timelines [slot_first[h], slot_first[h + 1]).
  std::vector<std::uint32_t> slot_first(num_hosts + 1, 0);
  std::vector<double> open_at(num_hosts);  // no start before now nor before available
  for (std::size_t h = 0; h < num_hosts; ++h) {
    assert(hosts[h].slots >= 1 && hosts[h].speed > 0);
    slot_first[h + 1] = slot_first[h] + static_cast<std::uint32_t>(hosts[h].slots);
    open_at[h] = std::max(now, hosts[h].available);
  }
  std::vector<std::vector<Interval>> timeline(slot_first[num_hosts]);

  // Per host, over the current task's parents on it: their latest finish (what a task on the
  // same host waits for) and latest arrival elsewhere (finish + comm). Reset after each task
  // through `touched`, so each task pays for its parents, not for all hosts.
  std::vector<double> local_finish(num_hosts, -kInf);
  std::vector<double> local_arrival(num_hosts, -kInf);
  std::vector<std::uint32_t> touched;

  for (const std::uint32_t i : plan.order) {
    // Data-ready time. best1/best2: the two latest per-host arrivals, on different hosts.
    double best1 = -kInf, best2 = -kInf;
    std::uint32_t best1_host = 0;
    for (std::uint32_t j = in.first[i]; j < in.first[i + 1]; ++j) {
      const std::uint32_t e = in.edge[j];
      const std::uint32_t p = job.edges[e].from;
      const std::uint32_t ph = plan.host[p];
      if (local_finish[ph] == -kInf) touched.push_back(ph);
      local_finish[ph] = std::max(local_finish[ph], plan.finish[p]);
      local_arrival[ph] = std::max(local_arrival[ph], plan.finish[p] + comm[e]);
    }
    for (std::uint32_t h : touched) {  // distinct hosts
      if (local_arrival[h] > best1) {
        best2 = best1;
        best1 = local_arrival[h];
        best1_host = h;
      } else if (local_arrival[h] > best2) {
        best2 = local_arrival[h];
      }
    }

    exec_times.fill(job.tasks[i], exec);
    double best_finish = kInf, best_start = 0;
    std::uint32_t best_host = 0, best_slot = 0;
    for (std::uint32_t h = 0; h < num_hosts; ++h) {
      const double duration = exec[h];
      if (duration == kInf) continue;
      double data_ready = h == best1_host ? best2 : best1;  // arrivals from the other hosts
      data_ready = std::max(data_ready, local_finish[h]);   // own parents: no transfer
      const double ready_at = std::max(data_ready, open_at[h]);
      if (ready_at + duration >= best_finish) continue;     // cannot strictly improve
      for (std::uint32_t s = slot_first[h]; s < slot_first[h + 1]; ++s) {
        const double start = earliest_start(timeline[s], ready_at, duration);
        if (start + duration < best_finish) {
          best_finish = start + duration;
          best_start = start;
          best_host = h;
          best_slot = s - slot_first[h];
        }
        if (start == ready_at) break;  // no later slot of this host can finish earlier
      }
    }
    assert(best_finish != kInf);

    for (std::uint32_t h : touched) local_finish[h] = local_arrival[h] = -kInf;
    touched.clear();

    plan.host[i] = best_host;
    plan.slot[i] = best_slot;
    plan.start[i] = best_start;
    plan.finish[i] = best_finish;
    insert_interval(timeline[slot_first[best_host] + best_slot], {best_start, best_finish});
  }
  plan.makespan = *std::max_element(plan.finish.begin(), plan.finish.end());
  return plan;
}

}  // namespace fulcrum
