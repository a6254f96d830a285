#include "core/cluster.h"

#include <cmath>
#include <limits>

namespace fulcrum {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Requests are sums of the same amounts, so exact comparison is nearly always right; the
// slack forgives the rounding of fractional amounts (0.1 cores) added and taken back.
bool within(double asked, double have) { return asked <= have + kSlack * std::max(1.0, std::fabs(have)); }

}  // namespace

ClusterState::ClusterState(int queue_cap) : queue_cap_(queue_cap), dimensions_{"cores", "memory", "gpus"} {
  shape_of(TaskSpec{});
}

std::size_t ClusterState::dimension(const std::string& name) {
  for (std::size_t d = 0; d < dimensions_.size(); ++d) {
    if (dimensions_[d] == name) return d;
  }
  dimensions_.push_back(name);
  // A dimension nobody had: every worker offers none of it (and has none free), every
  // shape asks none.
  for (Worker& w : workers_) {
    w.capacity.push_back(0);
    w.free.push_back(0);
  }
  for (Shape& s : shapes_) s.request.push_back(0);
  return dimensions_.size() - 1;
}

std::vector<double> ClusterState::dense(const Resources& r, bool capacity) {
  for (const auto& [name, amount] : r.other) dimension(name);
  std::vector<double> v(dimensions_.size(), 0);
  v[0] = r.cores;
  v[1] = capacity && r.memory <= 0 ? kInfinity : r.memory;
  v[2] = r.gpus;
  for (const auto& [name, amount] : r.other) v[dimension(name)] = amount;
  return v;
}

WorkerId ClusterState::add(const WorkerSpec& spec) {
  Worker w;
  w.id = static_cast<WorkerId>(workers_.size());
  w.spec = spec;
  w.weight = spec.weight > 0 ? spec.weight : spec.speed * spec.slots;
  w.capacity = dense(spec.capacity(), /*capacity=*/true);
  w.free = w.capacity;
  workers_.push_back(std::move(w));
  const Worker& added = workers_.back();
  for (Shape& s : shapes_) {
    s.pos.push_back(kAbsent);
    const bool fits = fits_capacity(added, s);
    s.fits.push_back(fits ? 1 : 0);
    if (fits) ++s.fitting;
  }
  refresh(added.id);
  return added.id;
}

ShapeId ClusterState::shape_of(const TaskSpec& spec) {
  const auto same = [&](const TaskSpec& needs) {
    return needs.request == spec.request && needs.spread == spec.spread && needs.require == spec.require;
  };
  if (!shapes_.empty() && same(shapes_[last_shape_].needs)) return last_shape_;
  for (ShapeId s = 0; s < shapes_.size(); ++s) {
    if (same(shapes_[s].needs)) return last_shape_ = s;
  }
  Shape shape;
  shape.needs.request = spec.request;
  shape.needs.require = spec.require;
  shape.needs.spread = spec.spread;
  shape.request = dense(spec.request, /*capacity=*/false);
  shape.pos.assign(workers_.size(), kAbsent);
  shape.fits.resize(workers_.size());
  for (const Worker& w : workers_) {
    shape.fits[w.id] = fits_capacity(w, shape) ? 1 : 0;
    shape.fitting += shape.fits[w.id];
  }
  shapes_.push_back(std::move(shape));
  last_shape_ = static_cast<ShapeId>(shapes_.size() - 1);
  for (const Worker& w : workers_) update(w.id, shapes_.back(), available(w) && shapes_.back().fits[w.id] && has_room(w, shapes_.back()));
  return last_shape_;
}

bool carries(const WorkerSpec& worker, const std::map<std::string, std::string>& require) {
  for (const auto& [key, value] : require) {
    if (key == "zone") {
      if (worker.zone != value) return false;
      continue;
    }
    const auto it = worker.labels.find(key);
    if (it == worker.labels.end() || it->second != value) return false;
  }
  return true;
}

bool ClusterState::fits_capacity(const Worker& w, const Shape& s) const {
  for (std::size_t d = 0; d < s.request.size(); ++d) {
    if (!within(s.request[d], w.capacity[d])) return false;
  }
  return carries(w.spec, s.needs.require);
}

bool ClusterState::fits_free(WorkerId id, ShapeId s) const {
  const std::vector<double>& request = shapes_[s].request;
  const std::vector<double>& free = workers_[id].free;
  for (std::size_t d = 0; d < request.size(); ++d) {
    if (request[d] > 0 && !within(request[d], free[d])) return false;
  }
  return true;
}

void ClusterState::hold(WorkerId id, ShapeId s, int sign) {
  const std::vector<double>& request = shapes_[s].request;
  std::vector<double>& free = workers_[id].free;
  for (std::size_t d = 0; d < request.size(); ++d) free[d] -= sign * request[d];
}

bool ClusterState::available(const Worker& w) const {
  return w.alive && !w.suspected && !w.quarantined && !w.draining;
}

bool ClusterState::has_room(const Worker& w, const Shape& s) const {
  if (queue_cap_ < 0) return true;
  if (queue_cap_ > 0) return w.in_system < static_cast<std::uint32_t>(w.spec.slots + queue_cap_);
  for (std::size_t d = 0; d < s.request.size(); ++d) {
    if (s.request[d] > 0 && !within(s.request[d], w.free[d])) return false;
  }
  return true;
}

void ClusterState::refresh(WorkerId id) {
  const Worker& w = workers_[id];
  const bool up = available(w);
  for (Shape& s : shapes_) update(id, s, up && s.fits[id] && has_room(w, s));
}

void ClusterState::update(WorkerId id, Shape& s, bool want) {
  const bool have = s.pos[id] != kAbsent;
  if (want == have) return;
  if (want) {
    s.pos[id] = static_cast<std::uint32_t>(s.eligible.size());
    s.eligible.push_back(id);
  } else {
    // Swap-remove keeps the list dense; its order is deterministic given the event order.
    const std::uint32_t pos = s.pos[id];
    const WorkerId last = s.eligible.back();
    s.eligible[pos] = last;
    s.pos[last] = pos;
    s.eligible.pop_back();
    s.pos[id] = kAbsent;
  }
}

}  // namespace fulcrum
