// Resources: what a task asks for and what a worker offers, in every dimension.
//
// Three dimensions are named because every scheduler has them — cores, memory (bytes) and
// GPUs — and any other is a name and an amount (`licence: 4`). A request fits a capacity
// when it fits in every dimension; a dimension the capacity does not name is zero, except
// memory, whose zero on a worker means "not limited" (a cluster that does not model
// memory runs tasks that ask for some).
//
// Resources is the value the task and worker descriptions hold (TaskSpec::request,
// WorkerSpec's capacity); the core's feasibility index (ClusterState, core/cluster.h) turns them
// into dense vectors once per worker and per task shape.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace fulcrum {

struct Resources {
  double cores = 0;
  double memory = 0;  // bytes
  double gpus = 0;
  std::map<std::string, double> other;  // any other named resource

  bool operator==(const Resources&) const = default;
};

template <class V> void fields(V& v, Resources& r) {
  v.field("cores", r.cores);
  v.field("memory", r.memory);
  v.field("gpus", r.gpus);
  v.field("other", r.other);
}

// The first dimension in which `request` does not fit `capacity` (with memory 0 on the
// capacity side meaning not limited), or "" when it fits in all. Exact comparisons: the
// amounts are sums of the same requests, so rounding cannot strand a fit by an ulp
// unless amounts are fractional, and then the core compares with a tolerance (kSlack).
std::string first_misfit(const Resources& request, const Resources& capacity);

// Whether `request` fits `free` in every dimension, reading every amount literally: no
// memory free is none (callers keep "not limited" as infinity). LocalQueue's test.
bool fits_free(const Resources& request, const Resources& free);

// Scaled comparisons forgive this much rounding of fractional amounts (cores: 0.1).
inline constexpr double kSlack = 1e-9;

// Whether any amount is negative, NaN or infinite: the name of the first such field, or "".
std::string first_bad_amount(const Resources& r);

// Where a task may run, besides fitting: labels a worker must carry with the given values
// (the key `zone` names the worker's zone), and how a job's tasks spread.
enum class Spread : std::uint8_t {
  kNone = 0,
  kHost = 1,  // prefer hosts holding the fewest of the job's tasks (anti-affinity)
  kZone = 2,  // prefer zones holding the fewest of the job's tasks
};

}  // namespace fulcrum
