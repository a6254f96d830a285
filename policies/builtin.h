// Factories of the built-in policies, one per file in policies/. Each validates its own
// parameters; the registry maps names to these.
#pragma once

#include <memory>

#include "core/expected.h"
#include "core/policy.h"
#include "policies/spec.h"

namespace fulcrum {

using PolicyResult = Expected<std::unique_ptr<Policy>>;

PolicyResult make_round_robin(const PolicySpec& spec);
PolicyResult make_random(const PolicySpec& spec);
PolicyResult make_weighted_round_robin(const PolicySpec& spec);
PolicyResult make_weighted_random(const PolicySpec& spec);
PolicyResult make_least_connections(const PolicySpec& spec);
PolicyResult make_jsq(const PolicySpec& spec);
PolicyResult make_power_of_d(const PolicySpec& spec);
PolicyResult make_heft(const PolicySpec& spec);
PolicyResult make_learned(const PolicySpec& spec);
PolicyResult make_first_fit(const PolicySpec& spec);
PolicyResult make_binpack(const PolicySpec& spec);
PolicyResult make_spread(const PolicySpec& spec);
PolicyResult make_tetris(const PolicySpec& spec);

// Refuses parameters other than `allowed`; returns the error text or "".
std::string reject_unknown_params(const PolicySpec& spec, std::initializer_list<const char*> allowed);

}  // namespace fulcrum
