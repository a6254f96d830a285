#include "core/resources.h"

#include <cmath>

namespace fulcrum {

namespace {

bool over(double asked, double have) { return asked > have + kSlack * std::max(1.0, std::fabs(have)); }

}  // namespace

std::string first_misfit(const Resources& request, const Resources& capacity) {
  if (over(request.cores, capacity.cores)) return "cores";
  if (capacity.memory > 0 && over(request.memory, capacity.memory)) return "memory";
  if (over(request.gpus, capacity.gpus)) return "gpus";
  for (const auto& [name, amount] : request.other) {
    if (amount <= 0) continue;
    const auto it = capacity.other.find(name);
    if (over(amount, it == capacity.other.end() ? 0 : it->second)) return name;
  }
  return "";
}

bool fits_free(const Resources& request, const Resources& free) {
  if (over(request.cores, free.cores) || over(request.memory, free.memory) || over(request.gpus, free.gpus)) {
    return false;
  }
  for (const auto& [name, amount] : request.other) {
    if (amount <= 0) continue;
    const auto it = free.other.find(name);
    if (over(amount, it == free.other.end() ? 0 : it->second)) return false;
  }
  return true;
}

std::string first_bad_amount(const Resources& r) {
  auto bad = [](double x) { return !std::isfinite(x) || x < 0; };
  if (bad(r.cores)) return "cores";
  if (bad(r.memory)) return "memory";
  if (bad(r.gpus)) return "gpus";
  for (const auto& [name, amount] : r.other) {
    if (bad(amount)) return name;
  }
  return "";
}

}  // namespace fulcrum
