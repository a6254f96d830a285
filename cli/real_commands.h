// The CLI's real-mode subcommands: the scheduler and worker daemons and the clients
// (submit, status, cancel, wait). Each adds itself to the app; main() dispatches.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace fulcrum {

// Adds the subcommands; returns one runner per subcommand, called if it was chosen.
std::vector<std::pair<CLI::App*, std::function<int()>>> add_real_commands(CLI::App& app);

}  // namespace fulcrum
