// Writes a run's result files into a folder: tasks.csv, workers.csv and summary.json.
// Numbers are printed with full precision ("%.17g") so that equal records give
// byte-identical files.
#pragma once

#include <string>

#include "core/expected.h"
#include "results/metrics.h"
#include "scenario/scenario.h"

namespace fulcrum {

// jobs.csv's flavour: fulcrum's own columns, or Batsim's (so that evalys and other
// Batsim tools read it).
enum class JobsFormat { kFulcrum, kBatsim };

// Creates `dir` if needed. Returns an Error naming the file that could not be written.
Expected<bool> write_results(const std::string& dir, const Scenario& scenario, const RunRecords& records,
                             JobsFormat jobs_format = JobsFormat::kFulcrum);

// summary.json's text: the summary metrics plus the scenario's policy, seed and source.
std::string summary_json(const Scenario& scenario, const Summary& summary);

}  // namespace fulcrum
