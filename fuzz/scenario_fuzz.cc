// The scenario loader on arbitrary text (YAML, with --set style overrides taken from the
// first line). Either a Scenario or an Error naming the place; never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "scenario/load.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  if (text.rfind("#set ", 0) == 0) {
    const std::size_t end = text.find('\n');
    overrides.push_back(text.substr(5, end == std::string::npos ? std::string::npos : end - 5));
  }
  auto scenario = fulcrum::load_scenario_text(text, "fuzz.yaml", overrides);
  if (!scenario.ok() && scenario.error().empty()) __builtin_trap();  // an error must say why
  return 0;
}
