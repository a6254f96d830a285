// What a task is to the drivers: the payload a scheduler keeps beside the core's task (the
// core knows only flops and parents) and ships to workers, clients and the journal.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fulcrum {

enum class TaskKind : std::uint8_t {
  kCommand = 0,  // run `command` with /bin/sh -c
  kBurn = 1,     // synthetic: keep a CPU busy for flops / worker speed seconds
  kSleep = 2,    // synthetic: sleep for flops / worker speed seconds
};

struct TaskDesc {
  TaskKind kind = TaskKind::kCommand;
  std::string command;         // kCommand only
  double flops = 0;            // synthetic kinds; also the core's size estimate
  double timeout = 0;          // seconds, 0: none
  std::vector<std::uint32_t> parents;  // indices into the job's tasks, each < own index

  bool operator==(const TaskDesc&) const = default;
};

// A task's outcome as a worker reported it.
struct TaskOutcome {
  std::int32_t exit_code = 0;  // -N: killed by signal N; 124: timed out (like timeout(1))
  std::string output;          // stdout and stderr interleaved, bounded (see kMaxOutputBytes)

  bool operator==(const TaskOutcome&) const = default;
};

// Captured output beyond this is cut (its tail kept) so that a chatty task cannot flood
// the scheduler's memory, the journal or a frame.
inline constexpr std::size_t kMaxOutputBytes = 64 * 1024;

}  // namespace fulcrum
