// The capacity invariant checked from a run's records: at no instant do the requests of the
// tasks running on a host exceed its capacity, in any dimension (cores, memory, GPUs, any
// named resource; memory 0 in a capacity means not limited, as in core/resources.h).
//
// Header-only, for any test binary: the simulator's tests (sim/tests/resources_test.cc)
// and the property tests over many seeded scenarios.
//
//   std::vector<Occupancy> spans = occupancies(records, request_of, report_delay);
//   EXPECT_EQ(first_overcommit(spans, capacities), "");
//
// What the records show: a finished task's last attempt held its worker from `start` (the
// host's clock: when it began computing) to `end`, which is when the scheduler heard of the
// completion, so it includes the report's trip across the network, during which the host
// may have started the next task. `report_delay` is taken off each end for that (a run on
// a network of near-zero latency needs almost none; the default LV08 model takes about
// 26 x a host link's latency per message). Only finished tasks count: a failed or lost
// attempt's end is when the scheduler gave up, not when the host let go.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/records.h"
#include "core/resources.h"
#include "results/metrics.h"

namespace fulcrum::testing {

// One task's hold on a host, over [start, end): one that ends when another starts does not
// overlap it.
struct Occupancy {
  std::uint32_t host = 0;
  double start = 0;
  double end = 0;
  Resources request;
  TaskId task = 0;
};

// "" when on every host, at every instant, the requests of the occupancies holding it fit
// its capacity (capacity[host]) in every dimension; otherwise the first over-commitment
// found: the host, the time, the dimension and the tasks holding it then.
inline std::string first_overcommit(std::vector<Occupancy> spans, const std::vector<Resources>& capacity) {
  std::sort(spans.begin(), spans.end(), [](const Occupancy& a, const Occupancy& b) {
    return a.host != b.host ? a.host < b.host : a.start < b.start;
  });
  std::size_t first = 0;
  while (first < spans.size()) {
    std::size_t last = first;
    while (last < spans.size() && spans[last].host == spans[first].host) ++last;
    const std::uint32_t host = spans[first].host;
    if (host >= capacity.size()) return "host " + std::to_string(host) + ": no capacity given";
    // Sweep: at each start, the tasks still holding the host (ends first at equal times).
    struct Edge {
      double time;
      int sign;
      std::size_t span;
    };
    std::vector<Edge> edges;
    for (std::size_t i = first; i < last; ++i) {
      if (spans[i].end <= spans[i].start) continue;  // held for no time
      edges.push_back({spans[i].start, +1, i});
      edges.push_back({spans[i].end, -1, i});
    }
    std::sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) {
      return a.time != b.time ? a.time < b.time : a.sign < b.sign;
    });
    std::set<std::size_t> holding;
    for (const Edge& e : edges) {
      if (e.sign < 0) {
        holding.erase(e.span);
        continue;
      }
      holding.insert(e.span);
      Resources sum;
      for (std::size_t i : holding) {
        sum.cores += spans[i].request.cores;
        sum.memory += spans[i].request.memory;
        sum.gpus += spans[i].request.gpus;
        for (const auto& [name, amount] : spans[i].request.other) sum.other[name] += amount;
      }
      if (const std::string dimension = first_misfit(sum, capacity[host]); !dimension.empty()) {
        std::ostringstream out;
        out << "host " << host << " over-committed in " << dimension << " at t=" << e.time << " by tasks";
        for (std::size_t i : holding) out << " " << spans[i].task;
        return out.str();
      }
    }
    first = last;
  }
  return "";
}

// The occupancies a run's records show (see the top of this file): each finished task, on
// its worker (the index into RunRecords::workers), over [start, end - report_delay), with
// the request `request_of` gives for it.
inline std::vector<Occupancy> occupancies(const RunRecords& r, const std::function<Resources(const TaskRecord&)>& request_of,
                                          double report_delay) {
  std::vector<Occupancy> out;
  for (const TaskRecord& t : r.tasks) {
    if (t.state != TaskState::kFinished || t.worker == kNoWorker || t.start < 0) continue;
    out.push_back({t.worker, t.start, t.end - report_delay, request_of(t), t.id});
  }
  return out;
}

}  // namespace fulcrum::testing
