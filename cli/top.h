// `fulcrum top`: the live cluster in the terminal, from the scheduler's /metrics.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "real/metrics.h"

namespace fulcrum {

// Adds the `top` subcommand and its runner.
void add_top_command(CLI::App& app, std::vector<std::pair<CLI::App*, std::function<int()>>>& runners);

// One frame from a scrape of the scheduler; `previous` (a scrape `elapsed` seconds before,
// or nullptr) gives the rates.
std::string render_top_frame(const std::string& source, const real::Exposition& now,
                             const real::Exposition* previous, double elapsed);

}  // namespace fulcrum
