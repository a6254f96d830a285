// Identifiers and the time type shared by the core, the policies and the drivers.
//
// Time is virtual seconds in simulation and seconds since the driver started in real
// mode; the core never reads a clock, every event carries `now`.
#pragma once

#include <cstdint>
#include <limits>

namespace fulcrum {

using Time = double;
using TaskId = std::uint64_t;
using JobId = std::uint64_t;
using WorkerId = std::uint32_t;

inline constexpr Time kNever = std::numeric_limits<Time>::infinity();
inline constexpr WorkerId kNoWorker = std::numeric_limits<WorkerId>::max();

}  // namespace fulcrum
