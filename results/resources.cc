// Per-dimension utilisation and fragmentation, from the task and worker records alone
// (results/metrics.h; their definitions are docs/results.md's "Resources").
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <unordered_map>
#include <utility>

#include "results/metrics.h"

namespace fulcrum {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Whether a finished task's hold on its worker is in the records: [start, end) on a worker.
bool holds(const TaskRecord& t, std::size_t workers) {
  return t.state == TaskState::kFinished && t.worker < workers && t.start >= 0 && t.end >= t.start;
}

// Cores, memory, GPUs.
using Vec = std::array<double, 3>;

// `need` fits `free` in every dimension, forgiving the rounding of sums of fractional
// amounts (core/resources.h's kSlack, relative to the amount).
bool fits(const Vec& need, const Vec& free) {
  for (std::size_t d = 0; d < 3; ++d) {
    if (need[d] > free[d] + kSlack * std::max(1.0, std::abs(need[d]))) return false;
  }
  return true;
}

}  // namespace

// Per worker, a sweep over its finished tasks' starts and ends integrates what they held,
// capped at the capacity at each instant: a task's end is when the scheduler heard of it,
// so for a report's trip the records can show the host's next task beside it, and what
// they show then beyond the capacity was not held.
void resource_utilisation(const std::vector<TaskRecord>& tasks, std::vector<WorkerRecord>& workers, double makespan,
                          Summary& summary) {
  // The tasks of each worker, by a counting sort.
  std::vector<std::uint32_t> first(workers.size() + 1, 0);
  for (const TaskRecord& t : tasks) {
    if (holds(t, workers.size())) ++first[t.worker + 1];
  }
  for (std::size_t w = 0; w < workers.size(); ++w) first[w + 1] += first[w];
  std::vector<std::uint32_t> order(first.back());
  {
    std::vector<std::uint32_t> next(first.begin(), first.end() - 1);
    for (std::uint32_t i = 0; i < tasks.size(); ++i) {
      if (holds(tasks[i], workers.size())) order[next[tasks[i].worker]++] = i;
    }
  }
  struct Edge {
    Time time;
    double sign;
    std::uint32_t task;
  };
  std::vector<Edge> edges;
  Vec used{0, 0, 0}, capacity{0, 0, 0};
  for (std::size_t w = 0; w < workers.size(); ++w) {
    WorkerRecord& r = workers[w];
    const Vec cap{static_cast<double>(r.slots), r.memory, r.gpus};
    edges.clear();
    for (std::uint32_t k = first[w]; k < first[w + 1]; ++k) {
      const TaskRecord& t = tasks[order[k]];
      edges.push_back({t.start, +1, order[k]});
      edges.push_back({t.end, -1, order[k]});
    }
    std::sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) {
      return a.time != b.time ? a.time < b.time : a.sign < b.sign;
    });
    Vec level{0, 0, 0}, held{0, 0, 0};
    for (std::size_t e = 0; e < edges.size(); ++e) {
      if (e > 0) {
        const double span = edges[e].time - edges[e - 1].time;
        for (std::size_t d = 0; d < 3; ++d) held[d] += std::clamp(level[d], 0.0, cap[d]) * span;
      }
      const TaskRecord& t = tasks[edges[e].task];
      level[0] += edges[e].sign * t.cores;
      level[1] += edges[e].sign * t.memory;
      level[2] += edges[e].sign * t.gpus;
    }
    Vec util{0, 0, 0};
    for (std::size_t d = 0; d < 3; ++d) {
      if (cap[d] <= 0) continue;  // none of it, or (memory) not limited
      if (makespan > 0) util[d] = held[d] / (cap[d] * makespan);
      used[d] += held[d];
      capacity[d] += cap[d];
    }
    r.utilisation_cores = util[0];
    r.utilisation_memory = util[1];
    r.utilisation_gpus = util[2];
  }
  Vec pooled{0, 0, 0};
  for (std::size_t d = 0; d < 3; ++d) {
    if (capacity[d] > 0 && makespan > 0) pooled[d] = used[d] / (capacity[d] * makespan);
  }
  summary.utilisation_cores = pooled[0];
  summary.utilisation_memory = pooled[1];
  summary.utilisation_gpus = pooled[2];
}

// A sweep over the records' instants. Between two instants the waiting tasks and each
// host's free capacity are constant; the stranded cores then are the free cores of the
// hosts where none of the waiting requests fits.
//
// Hosts are grouped by their free vector (hosts with no free core strand nothing and are
// not tracked); each group knows whether some waiting request fits it. Waiting requests are
// kept by (cores, gpus) class with their memory amounts in order, so "does any fit" asks
// each class for its smallest memory: O(classes), and a workload has a handful of classes.
// A change of some class's smallest memory (or of the classes) marks every group's answer
// stale; they are asked again, in one pass over the groups, only before an interval in
// which tasks wait. So the cost is O(events x classes + such intervals x groups x classes),
// not O(events x hosts x waiting tasks).
double fragmentation(const std::vector<TaskRecord>& tasks, const std::vector<WorkerRecord>& workers, Time from,
                     double makespan) {
  double total_cores = 0;
  for (const WorkerRecord& w : workers) total_cores += std::max(0, w.slots);
  if (makespan <= 0 || total_cores <= 0) return 0;
  // One core, no memory, no GPU for every task (the one-slot world): hosts have whole
  // cores, so any free core fits any waiting task and nothing is ever stranded.
  if (std::all_of(tasks.begin(), tasks.end(),
                  [](const TaskRecord& t) { return t.cores == 1 && t.memory == 0 && t.gpus == 0; })) {
    return 0;
  }
  const Time to = from + makespan;

  enum Kind : std::uint8_t { kRelease, kHold, kWaitEnd, kWaitStart };
  struct Event {
    Time time;
    Kind kind;
    std::uint32_t task;
  };
  std::vector<Event> events;
  events.reserve(tasks.size() * 4);
  for (std::uint32_t i = 0; i < tasks.size(); ++i) {
    const TaskRecord& t = tasks[i];
    const Time wait_end = t.start >= 0 ? t.start : t.end >= 0 ? t.end : to;
    if (wait_end > t.submit) {
      events.push_back({t.submit, kWaitStart, i});
      events.push_back({wait_end, kWaitEnd, i});
    }
    if (holds(t, workers.size()) && t.end > t.start) {
      events.push_back({t.start, kHold, i});
      events.push_back({t.end, kRelease, i});
    }
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.time != b.time ? a.time < b.time : a.kind < b.kind;
  });

  // The waiting requests: by (cores, gpus), the memory amounts and how many tasks ask each.
  std::map<std::pair<double, double>, std::map<double, std::uint64_t>> waiting;
  std::uint64_t waiting_tasks = 0;
  auto any_fits = [&](const Vec& free) {
    for (const auto& [shape, memory] : waiting) {
      if (fits({shape.first, memory.begin()->first, shape.second}, free)) return true;
    }
    return false;
  };

  struct Group {
    Vec free;
    std::uint32_t hosts = 0;
    double cores = 0;     // Σ free cores of its hosts
    bool fitted = false;  // some waiting request fits `free` (when not stale)
  };
  struct VecHash {
    std::size_t operator()(const Vec& v) const {
      std::size_t h = 0;
      for (double x : v) h = h * 1000003u ^ std::hash<double>{}(x);
      return h;
    }
  };
  std::vector<Group> groups;  // only free vectors with free cores
  std::unordered_map<Vec, std::uint32_t, VecHash> group_of;
  bool stale = true;    // the groups' `fitted` and `stranded` need asking again
  double stranded = 0;  // Σ cores of the groups no waiting request fits (when not stale)

  // Free cores below kSlack are rounding (a host full of 0.1-core tasks), not capacity.
  auto enter = [&](const Vec& free) {
    if (free[0] <= kSlack) return;
    auto [it, fresh] = group_of.try_emplace(free, static_cast<std::uint32_t>(groups.size()));
    if (fresh) groups.push_back({free, 0, 0, stale ? false : any_fits(free)});
    Group& g = groups[it->second];
    ++g.hosts;
    g.cores += free[0];
    if (!stale && !g.fitted) stranded += free[0];
  };
  auto leave = [&](const Vec& free) {
    if (free[0] <= kSlack) return;
    auto it = group_of.find(free);
    const std::uint32_t index = it->second;
    Group& g = groups[index];
    if (!stale && !g.fitted) stranded -= free[0];
    g.cores -= free[0];
    if (--g.hosts > 0) return;
    group_of.erase(it);
    if (index + 1 != groups.size()) {
      groups[index] = std::move(groups.back());
      group_of[groups[index].free] = index;
    }
    groups.pop_back();
  };
  auto refresh = [&] {
    stranded = 0;
    for (Group& g : groups) {
      g.fitted = any_fits(g.free);
      if (!g.fitted) stranded += g.cores;
    }
    stale = false;
  };

  std::vector<Vec> free(workers.size());
  for (std::size_t w = 0; w < workers.size(); ++w) {
    free[w] = {static_cast<double>(std::max(0, workers[w].slots)), workers[w].memory > 0 ? workers[w].memory : kInf,
               std::max(0.0, workers[w].gpus)};
    enter(free[w]);
  }

  double integral = 0;
  Time now = from;
  for (std::size_t i = 0; i < events.size();) {
    const Time at = std::min(std::max(events[i].time, from), to);
    if (waiting_tasks > 0 && at > now) {
      if (stale) refresh();
      integral += std::max(0.0, stranded) * (at - now);
    }
    now = std::max(now, at);
    for (; i < events.size() && std::min(std::max(events[i].time, from), to) == at; ++i) {
      const TaskRecord& t = tasks[events[i].task];
      switch (events[i].kind) {
        case kHold:
        case kRelease: {
          const double sign = events[i].kind == kHold ? -1 : 1;
          Vec& f = free[t.worker];
          leave(f);
          f[0] += sign * t.cores;
          f[1] += sign * t.memory;  // inf stays inf
          f[2] += sign * t.gpus;
          enter(f);
          break;
        }
        case kWaitStart: {
          ++waiting_tasks;
          auto& memory = waiting[{t.cores, t.gpus}];
          if (memory.empty() || t.memory < memory.begin()->first) stale = true;
          ++memory[t.memory];
          break;
        }
        case kWaitEnd: {
          --waiting_tasks;
          auto shape = waiting.find({t.cores, t.gpus});
          auto amount = shape->second.find(t.memory);
          if (--amount->second > 0) break;
          if (amount == shape->second.begin()) stale = true;  // its smallest memory goes
          shape->second.erase(amount);
          if (shape->second.empty()) waiting.erase(shape);
          break;
        }
      }
    }
  }
  return integral / (total_cores * makespan);
}

}  // namespace fulcrum
