#include "results/tenants.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

namespace fulcrum {

namespace {

// The sweep behind backlogged_share and jain_fairness (see the header): the tasks' waits
// and holds as edges in time, each instant's backlogged tenants and their dominant shares.
template <class TenantOf>
void backlogged(RunRecords& records, const TenantOf& tenant_of, const std::map<std::string, std::size_t>& row) {
  struct Edge {
    double time;
    std::size_t tenant;
    int waiting;                    // +1, -1 or 0
    std::array<double, 3> held{};   // cores, memory, gpus added (or, negative, released)
  };
  std::vector<Edge> edges;
  double end_of_run = 0;
  for (const TaskRecord& t : records.tasks) end_of_run = std::max(end_of_run, t.end);
  for (const TaskRecord& t : records.tasks) {
    const std::size_t i = row.at(tenant_of(t));
    const double until = t.start >= 0 ? t.start : (t.end >= 0 ? t.end : end_of_run);
    if (until > t.submit) {
      edges.push_back({t.submit, i, +1, {}});
      edges.push_back({until, i, -1, {}});
    }
    if (t.state == TaskState::kFinished && t.start >= 0 && t.end > t.start) {
      edges.push_back({t.start, i, 0, {t.cores, t.memory, t.gpus}});
      edges.push_back({t.end, i, 0, {-t.cores, -t.memory, -t.gpus}});
    }
  }
  std::sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) { return a.time < b.time; });
  std::array<double, 3> capacity{};
  for (const WorkerRecord& w : records.workers) {
    capacity[0] += w.slots;
    capacity[1] += w.memory;
    capacity[2] += w.gpus;
  }
  const std::size_t n = records.tenants.size();
  std::vector<int> waiting(n, 0);
  std::vector<std::array<double, 3>> held(n, std::array<double, 3>{});
  std::vector<double> share_time(n, 0), time(n, 0);
  double jain_time = 0, jain_sum = 0;
  for (std::size_t e = 0; e < edges.size();) {
    const double now = edges[e].time;
    for (; e < edges.size() && edges[e].time == now; ++e) {
      waiting[edges[e].tenant] += edges[e].waiting;
      for (std::size_t k = 0; k < 3; ++k) held[edges[e].tenant][k] += edges[e].held[k];
    }
    if (e == edges.size()) break;
    const double span = edges[e].time - now;
    double sum = 0, squares = 0;
    int competing = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (waiting[i] <= 0) continue;
      double dominant = 0;
      for (std::size_t k = 0; k < 3; ++k) {
        if (capacity[k] > 0) dominant = std::max(dominant, held[i][k] / capacity[k]);
      }
      share_time[i] += dominant * span;
      time[i] += span;
      const double x = dominant / records.tenants[i].weight;
      sum += x;
      squares += x * x;
      ++competing;
    }
    if (competing >= 2) {
      jain_time += span;
      jain_sum += span * (squares > 0 ? sum * sum / (competing * squares) : 1.0);
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    records.tenants[i].backlogged_time = time[i];
    records.tenants[i].backlogged_share = time[i] > 0 ? share_time[i] / time[i] : 0;
  }
  records.summary.jain_fairness = jain_time > 0 ? jain_sum / jain_time : 1.0;
}

}  // namespace

void summarize_tenants(RunRecords& records, const std::vector<TenantSpec>& declared) {
  records.tenants.clear();
  std::map<std::string, std::size_t> row;  // tenant -> index in records.tenants
  const auto row_of = [&](const std::string& name) -> TenantRecord& {
    auto [it, fresh] = row.emplace(name, records.tenants.size());
    if (fresh) {
      TenantRecord r;
      r.tenant = name;
      records.tenants.push_back(r);
    }
    return records.tenants[it->second];
  };
  for (const TenantSpec& t : declared) row_of(t.name).weight = t.weight;

  double cores = 0, memory = 0, gpus = 0;
  for (const WorkerRecord& w : records.workers) {
    cores += w.slots;
    memory += w.memory;
    gpus += w.gpus;
  }
  const double span = records.summary.makespan;
  std::vector<double> held(3 * records.tenants.size() + 3, 0.0);
  static const std::string kDefault;
  const auto tenant_of = [&](const TaskRecord& t) -> const std::string& {
    return t.job < records.jobs.size() ? records.jobs[t.job].tenant : kDefault;
  };
  for (const TaskRecord& t : records.tasks) {
    TenantRecord& r = row_of(tenant_of(t));
    ++r.tasks;
    r.preemptions += t.preemptions;
    if (t.state != TaskState::kFinished || t.start < 0) continue;
    ++r.tasks_completed;
    const std::size_t i = row.at(tenant_of(t));
    if (held.size() < 3 * (i + 1)) held.resize(3 * (i + 1), 0.0);
    const double d = t.end - t.start;
    held[3 * i] += t.cores * d;
    held[3 * i + 1] += t.memory * d;
    held[3 * i + 2] += t.gpus * d;
  }
  std::vector<double> wait(records.tenants.size() + 1, 0.0), slowdown(records.tenants.size() + 1, 0.0);
  std::vector<std::uint64_t> ended(records.tenants.size() + 1, 0);
  for (const JobRecord& j : records.jobs) {
    TenantRecord& r = row_of(j.tenant);
    ++r.jobs;
    const std::size_t i = row.at(j.tenant);
    if (wait.size() <= i) {
      wait.resize(i + 1, 0.0);
      slowdown.resize(i + 1, 0.0);
      ended.resize(i + 1, 0);
    }
    if (j.end < 0 || j.start < 0) continue;
    wait[i] += j.wait;
    slowdown[i] += j.bounded_slowdown;
    ++ended[i];
  }
  held.resize(3 * records.tenants.size(), 0.0);
  const auto share = [&](double amount, double capacity) { return capacity > 0 && span > 0 ? amount / (capacity * span) : 0.0; };
  for (std::size_t i = 0; i < records.tenants.size(); ++i) {
    TenantRecord& r = records.tenants[i];
    r.share_cores = share(held[3 * i], cores);
    r.share_memory = share(held[3 * i + 1], memory);
    r.share_gpus = share(held[3 * i + 2], gpus);
    r.dominant_share = std::max({r.share_cores, r.share_memory, r.share_gpus});
    if (i < ended.size() && ended[i] > 0) {
      r.wait_mean = wait[i] / static_cast<double>(ended[i]);
      r.bounded_slowdown_mean = slowdown[i] / static_cast<double>(ended[i]);
    }
  }
  backlogged(records, tenant_of, row);
  // Declared tenants without work are not rows.
  std::erase_if(records.tenants, [](const TenantRecord& r) { return r.jobs == 0 && r.tasks == 0; });

}

}  // namespace fulcrum
