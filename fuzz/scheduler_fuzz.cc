// The scheduler as a state machine: the input's bytes choose a sequence of events a
// driver could legally feed the core (core/tests/scheduler_harness.h: workers joining,
// leaving, crashing, claiming, reporting late or twice; timeouts, cancels, scale-outs,
// failovers by replay of the journal), and every invariant is checked after every event.
// Built with the core's asserts on. A broken invariant prints the event sequence (the
// reproducer's script) and aborts; FULCRUM_HARNESS_ECHO=1 prints events as they happen
// (to see what led to a core assert).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "core/tests/scheduler_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fulcrum::harness;
  static const bool echo = std::getenv("FULCRUM_HARNESS_ECHO") != nullptr;
  ByteChoices choices(data, size);
  Options options;
  options.max_events = 3000;
  options.log = false;
  options.echo = echo;
  const Outcome out = run(choices, options);
  if (!out.ok) {
    ByteChoices again(data, size);
    options.log = true;
    options.echo = false;
    std::fputs(describe(run(again, options)).c_str(), stderr);
    std::abort();
  }
  return 0;
}
