// `heft`: plans every job when it is submitted with HEFT (policies/heft.h) against the
// current cluster — each worker available from when its earlier planned work ends — and
// then dispatches each ready task to its planned worker, in upward-rank order. A task whose
// planned worker cannot take it (dead, suspected, full) goes to the eligible worker with
// the fewest tasks. Independent tasks are one-task jobs: HEFT places each where it would
// finish first.
#include <algorithm>
#include <unordered_map>

#include "policies/builtin.h"
#include "policies/heft.h"

namespace fulcrum {
namespace {

class HeftPolicy final : public Policy {
 public:
  std::string name() const override { return "heft"; }

  void on_job_submitted(const ClusterState& cluster, const JobSpec& job, TaskId first, Time now,
                        JobPlan& plan_out) override {
    // One HEFT processor per slot, each with its own planned availability.
    std::vector<HeftHost> hosts;
    std::vector<std::pair<WorkerId, int>> slot_of;
    if (busy_until_.size() < cluster.size()) busy_until_.resize(cluster.size());
    for (const Worker& w : cluster.workers()) {
      if (!w.alive) continue;
      busy_until_[w.id].resize(static_cast<std::size_t>(w.spec.slots), 0);
      for (int slot = 0; slot < w.spec.slots; ++slot) {
        hosts.push_back(HeftHost{w.spec.name, w.spec.speed, 1, std::max(now, busy_until_[w.id][slot])});
        slot_of.emplace_back(w.id, slot);
      }
    }
    if (hosts.empty()) return;  // nobody to plan for: tasks wait and go to whoever comes
    DagJob dag;
    for (std::uint32_t i = 0; i < job.tasks.size(); ++i) {
      const TaskSpec& t = job.tasks[i];
      dag.tasks.push_back(DagTask{"", t.flops, t.cost});
      for (std::size_t k = 0; k < t.parents.size(); ++k) {
        dag.edges.push_back(DagEdge{t.parents[k], i, k < t.parent_bytes.size() ? t.parent_bytes[k] : 0,
                                    k < t.parent_comm.size() ? t.parent_comm[k] : -1});
      }
    }
    const HeftPlan plan = plan_heft(dag, hosts, HeftNetwork{cluster.latency(), cluster.bandwidth()}, now);
    plan_out.workers.resize(job.tasks.size());
    for (std::uint32_t i = 0; i < job.tasks.size(); ++i) {
      const auto [w, slot] = slot_of[plan.host[i]];
      planned_[first + i] = w;
      busy_until_[w][slot] = std::max(busy_until_[w][slot], plan.finish[i]);
      plan_out.priorities[i] = plan.rank[i];
      plan_out.workers[i] = cluster.worker(w).spec.name;
    }
  }

  void restore_plan(TaskId first, const std::vector<std::string>& workers) override {
    for (std::size_t i = 0; i < workers.size(); ++i) {
      if (!workers[i].empty()) planned_by_name_[first + i] = workers[i];
    }
  }

  std::optional<WorkerId> pick(const ClusterState& cluster, const Task& task, Rng& /*rng*/) override {
    if (auto it = planned_.find(task.id); it != planned_.end()) {
      const WorkerId w = it->second;
      planned_.erase(it);
      if (cluster.is_eligible(w)) return w;
    }
    const auto eligible = cluster.eligible();
    // Planned by an earlier leader: its worker, by name, if it rejoined (rare: a linear scan).
    if (auto it = planned_by_name_.find(task.id); it != planned_by_name_.end()) {
      const std::string name = std::move(it->second);
      planned_by_name_.erase(it);
      for (WorkerId w : eligible) {
        if (cluster.worker(w).spec.name == name) return w;
      }
    }
    return *std::min_element(eligible.begin(), eligible.end(), [&](WorkerId a, WorkerId b) {
      const auto la = cluster.worker(a).in_system, lb = cluster.worker(b).in_system;
      return la != lb ? la < lb : a < b;
    });
  }

 private:
  std::unordered_map<TaskId, WorkerId> planned_;
  std::unordered_map<TaskId, std::string> planned_by_name_;  // restored after a failover
  std::vector<std::vector<double>> busy_until_;  // per worker and slot: when its planned work ends
};

}  // namespace

PolicyResult make_heft(const PolicySpec& spec) {
  if (auto error = reject_unknown_params(spec, {}); !error.empty()) return Error{error};
  return std::unique_ptr<Policy>(new HeftPolicy());
}

}  // namespace fulcrum
