#include "core/job_spec.h"

#include <cmath>

namespace fulcrum {

Expected<bool> check_job_spec(const JobSpec& job) {
  if (job.tasks.empty()) return Error{"a job needs at least one task"};
  auto size_ok = [](double x) { return std::isfinite(x) && x >= 0; };
  for (std::size_t i = 0; i < job.tasks.size(); ++i) {
    const TaskSpec& t = job.tasks[i];
    const std::string where = "task " + std::to_string(i);
    for (std::uint32_t p : t.parents) {
      if (p >= i) return Error{where + " names parent " + std::to_string(p) + ", which does not come before it"};
    }
    if (!t.parent_bytes.empty() && t.parent_bytes.size() != t.parents.size()) {
      return Error{where + ": parent_bytes must be empty or one per parent"};
    }
    if (!t.parent_comm.empty() && t.parent_comm.size() != t.parents.size()) {
      return Error{where + ": parent_comm must be empty or one per parent"};
    }
    if (!size_ok(t.flops)) return Error{where + ": flops must be a finite number >= 0"};
    if (!size_ok(t.timeout)) return Error{where + ": timeout must be a finite number >= 0"};
    if (!std::isfinite(t.priority)) return Error{where + ": priority must be finite"};
    if (!size_ok(t.estimate)) return Error{where + ": estimate must be a finite number >= 0"};
    if (job.gang && !t.parents.empty()) return Error{where + ": a gang's tasks start together: they cannot have parents"};
    if (const std::string bad = first_bad_amount(t.request); !bad.empty()) {
      return Error{where + ": request " + bad + " must be a finite number >= 0"};
    }
    for (double b : t.parent_bytes) {
      if (!size_ok(b)) return Error{where + ": parent_bytes must be finite numbers >= 0"};
    }
    for (double c : t.parent_comm) {
      if (!std::isfinite(c)) return Error{where + ": parent_comm must be finite"};
    }
    for (const auto& [host, seconds] : t.cost) {
      if (!size_ok(seconds)) return Error{where + ": cost on '" + host + "' must be a finite number >= 0"};
    }
  }
  return true;
}

}  // namespace fulcrum
