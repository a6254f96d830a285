// `fulcrum journal dump`: prints a scheduler's journal (real/journal_dump.h), from its
// folder or from ZooKeeper.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace fulcrum {

// Adds `journal` and its subcommand `dump`, with dump's runner.
void add_journal_command(CLI::App& app, std::vector<std::pair<CLI::App*, std::function<int()>>>& runners);

}  // namespace fulcrum
