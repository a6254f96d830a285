// Loading and validating scenario files: YAML text in, a checked Scenario or one error
// message out.
//
// The YAML keys are a public contract (docs/scenario.md is their reference,
// default_scenario_yaml() a complete example). Loading is strict: unknown keys at any
// level, duplicate keys, values of the wrong type or out of range, an unknown policy and a
// missing platform file are all refused, so that a typo never silently falls back to a
// default. Every message names the source, the 1-based line and the key path, e.g.
//   scenarios/x.yaml:7: cluster.hosts[0].count: must be a positive integer, got -3
// and a value that came from an override names the override instead of a line.
//
// A `faults:` list is also checked against the cluster: with host groups, host and group
// names must exist (a platform file's names are left to the simulator), and impossible
// timelines are refused (two crashes of one host whose down times overlap, leader_kills
// within recovery.election_delay of each other), naming the earlier entry's line.
//
// Overrides are "key.path=value" strings (the CLI's --set) applied to the YAML tree before
// validation, so they are checked exactly like the file. A path is dot-separated keys with
// list indices either bracketed or dotted ("cluster.hosts[0].count" or
// "cluster.hosts.0.count"); missing intermediate maps are created and an index equal to a
// list's length appends. The value is parsed as YAML, so "workload.rate=50",
// "policy=jsq" and "cluster.hosts=[{count: 2}]" all work.
//
// These functions never throw and never crash or hang on malformed input: yaml-cpp's
// exceptions are caught at this boundary and returned as Errors.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "scenario/scenario.h"

namespace fulcrum {

// Reads and validates the file at `path`. A relative `cluster.platform` written in the file
// is resolved against the file's directory; one set by an override, against the working
// directory (where the user typed it). The Scenario holds the resolved path.
Expected<Scenario> load_scenario_file(const std::string& path,
                                      const std::vector<std::string>& overrides = {});

// Validates YAML `yaml`; `source_name` is used in messages and, like a file path, as the
// base for relative platform paths (a name without a directory means the working one).
Expected<Scenario> load_scenario_text(const std::string& yaml, const std::string& source_name,
                                      const std::vector<std::string>& overrides = {});

// The built-in demo scenario, as commented YAML: a heterogeneous 16-host cluster at about
// 80% load, so that the policies visibly differ. Its text is scenario/default.yaml,
// compiled in (scenario/default_scenario.cmake).
std::string_view default_scenario_yaml();

// Every key path the loader accepts, a list's entries written "[]": "seed", "cluster.hosts",
// "cluster.hosts[].count", "workload.size.dist", "faults[].mtbf", ... (one table in load.cc
// holds them). docs/scenario.md documents each one; scenario/tests/reference_test.cc checks
// that the page and this list agree.
std::vector<std::string> scenario_key_paths();

}  // namespace fulcrum
